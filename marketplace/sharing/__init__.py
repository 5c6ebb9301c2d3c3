"""Delta Sharing: licensed tables read where they lie by pandas, Polars, Spark and DuckDB."""
