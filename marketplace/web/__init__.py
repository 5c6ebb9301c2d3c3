"""Server-rendered web interface (Jinja2) for vendors, buyers and compliance officers."""
