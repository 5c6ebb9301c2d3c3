"""Search at scale: a narrow ranking table, pre-aggregated facet counts, a trigram vocabulary

- `search_postings`: one row per (dataset, word) with an integer score, read in score order, so
  the top of a broad query never ranks every match, carrying the dataset's facet codes
  (`facet_codes`) so a query's facet counts never read the datasets (PostgreSQL; SQLite keeps
  FTS5's bm25).
- `search_docs` and `facet_pairs`: each public dataset's facet values, and per facet value how
  many public datasets have each other value. Triggers keep the pairs in step with the docs.
- `search_vocabulary`: the words "did you mean" corrects to, with a trigram index on PostgreSQL.

Existing rows are backfilled here; the vocabulary is filled by `marketplace search reindex`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 22:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# A word's score in one dataset: where it appears most (title 1.0, summary/tags/domain words 0.4,
# card 0.2) plus a little for how often, times 1000 as an integer.
# Public datasets' postings carry their facet codes ("*" included); the others NULL.
PG_CODES = "INSERT INTO facet_codes (kv) SELECT DISTINCT v FROM search_docs, unnest('{*}'::text[] || facets) v ORDER BY v ON CONFLICT (kv) DO NOTHING"
PG_POSTINGS = (
    "WITH dc AS (SELECT s.dataset_id, array_agg(c.code ORDER BY c.code) AS codes FROM search_docs s "
    "JOIN facet_codes c ON c.kv = ANY('{*}'::text[] || s.facets) GROUP BY s.dataset_id) "
    "INSERT INTO search_postings (dataset_id, term, score, facets) "
    "SELECT d.id, u.lexeme, round(1000 * (CASE WHEN 'A' = ANY(u.weights) THEN 1.0 WHEN 'B' = ANY(u.weights) THEN 0.4 "
    "WHEN 'C' = ANY(u.weights) THEN 0.2 ELSE 0.1 END + 0.1 * ln(greatest(coalesce(cardinality(u.positions), 1), 1))))::int, dc.codes "
    "FROM datasets d CROSS JOIN LATERAL unnest(d.search_vector) u LEFT JOIN dc ON dc.dataset_id = d.id WHERE d.search_vector IS NOT NULL"
)
PG_PAIRS_FUNCTION = """
CREATE FUNCTION facet_pairs_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO facet_pairs AS p (a, b, n)
      SELECT x, y, -1 FROM unnest('{*}'::text[] || OLD.facets) x, unnest('{*}'::text[] || OLD.facets) y ORDER BY 1, 2
      ON CONFLICT (a, b) DO UPDATE SET n = p.n - 1;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO facet_pairs AS p (a, b, n)
      SELECT x, y, 1 FROM unnest('{*}'::text[] || NEW.facets) x, unnest('{*}'::text[] || NEW.facets) y ORDER BY 1, 2
      ON CONFLICT (a, b) DO UPDATE SET n = p.n + 1;
  END IF;
  RETURN NULL;
END $$
"""
PG_PAIRS_REBUILD = (
    "INSERT INTO facet_pairs (a, b, n) SELECT x, y, count(*) FROM search_docs, "
    "unnest('{*}'::text[] || facets) x, unnest('{*}'::text[] || facets) y GROUP BY x, y"
)


# search_postings has no foreign key (a per-row check would be most of a reindex's cost), so a
# deleted dataset takes its postings with it by trigger: counts read postings alone.
PG_DROP_POSTINGS_FUNCTION = """
CREATE FUNCTION search_postings_drop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM search_postings WHERE dataset_id = OLD.id;
  RETURN NULL;
END $$
"""


def _sqlite_pairs(row: str, sign: str) -> str:
    both = f"json_insert({row}.facets, '$[#]', '*')"
    return (f"INSERT INTO facet_pairs (a, b, n) SELECT x.value, y.value, {sign}1 FROM json_each({both}) x, json_each({both}) y WHERE 1 "
            f"ON CONFLICT (a, b) DO UPDATE SET n = n {sign} 1;")


SQLITE_TRIGGERS = {
    "facet_pairs_insert": f"AFTER INSERT ON search_docs BEGIN {_sqlite_pairs('NEW', '+')} END",
    "facet_pairs_update": f"AFTER UPDATE ON search_docs BEGIN {_sqlite_pairs('OLD', '-')} {_sqlite_pairs('NEW', '+')} END",
    "facet_pairs_delete": f"AFTER DELETE ON search_docs BEGIN {_sqlite_pairs('OLD', '-')} END",
    "search_postings_drop": "AFTER DELETE ON datasets BEGIN DELETE FROM search_postings WHERE dataset_id = OLD.id; END",
}


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table('search_postings',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('term', sa.Text(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('facets', postgresql.ARRAY(sa.Integer()).with_variant(sa.JSON(), 'sqlite'), nullable=True),
    sa.PrimaryKeyConstraint('dataset_id', 'term', name=op.f('pk_search_postings'))
    )
    op.create_index('ix_search_postings_rank', 'search_postings', ['term', 'score', 'dataset_id'], unique=False, postgresql_include=['facets'])
    op.create_table('facet_codes',
    sa.Column('code', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kv', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_facet_codes')),
    sa.UniqueConstraint('kv', name=op.f('uq_facet_codes_kv'))
    )
    op.create_table('search_docs',
    sa.Column('dataset_id', sa.Uuid(), nullable=False),
    sa.Column('facets', postgresql.ARRAY(sa.Text()).with_variant(sa.JSON(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_search_docs_dataset_id_datasets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_search_docs'))
    )
    op.create_table('facet_pairs',
    sa.Column('a', sa.Text(), nullable=False),
    sa.Column('b', sa.Text(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('a', 'b', name=op.f('pk_facet_pairs'))
    )
    op.create_table('search_vocabulary',
    sa.Column('word', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_vocabulary'))
    )
    op.create_index('ix_datasets_listing_price_asc', 'datasets', ['visibility', sa.text('coalesce(min_price_minor, 4611686018427387904)'), 'id'], unique=False)
    op.create_index('ix_datasets_listing_price_desc', 'datasets', ['visibility', sa.text('coalesce(min_price_minor, -1)'), 'id'], unique=False)
    if pg:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index('ix_search_vocabulary_trgm', 'search_vocabulary', ['word'], unique=False, postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    _backfill_docs()
    if pg:
        op.execute(PG_CODES)
        op.execute(PG_POSTINGS)
        op.execute(PG_PAIRS_REBUILD)  # set-based, then the trigger keeps them
        op.execute(PG_PAIRS_FUNCTION)
        op.execute("CREATE TRIGGER facet_pairs_track AFTER INSERT OR UPDATE OR DELETE ON search_docs FOR EACH ROW EXECUTE FUNCTION facet_pairs_track()")
        op.execute(PG_DROP_POSTINGS_FUNCTION)
        op.execute("CREATE TRIGGER search_postings_drop AFTER DELETE ON datasets FOR EACH ROW EXECUTE FUNCTION search_postings_drop()")


def _backfill_docs() -> None:
    """Every public dataset's facet values, as the service writes them (vendor ids as 32 hex digits)."""
    conn = op.get_bind()
    meta = sa.MetaData()
    datasets = sa.Table('datasets', meta, autoload_with=conn)
    facets = sa.Table('dataset_facets', meta, autoload_with=conn)
    docs = sa.Table('search_docs', meta, autoload_with=conn)
    public = conn.execute(sa.select(datasets.c.id, datasets.c.domain, datasets.c.organization_id, datasets.c.license_use_class)
                          .where(datasets.c.visibility == 'listed', datasets.c.published_at.is_not(None))).all()
    values: dict[object, set[str]] = {}
    for did, domain, org, lic in public:
        values[did] = {f"domain:{domain}", f"vendor:{org.hex}"} | ({f"license_class:{lic}"} if lic else set())
    for did, kind, value in conn.execute(sa.select(facets.c.dataset_id, facets.c.kind, facets.c.value)):
        if did in values:
            values[did].add(f"{kind}:{value}")
    if values:
        conn.execute(docs.insert(), [{"dataset_id": d, "facets": sorted(v)} for d, v in values.items()])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS facet_pairs_track ON search_docs")
        op.execute("DROP FUNCTION IF EXISTS facet_pairs_track()")
        op.execute("DROP TRIGGER IF EXISTS search_postings_drop ON datasets")
        op.execute("DROP FUNCTION IF EXISTS search_postings_drop()")
        op.drop_index('ix_search_vocabulary_trgm', table_name='search_vocabulary', postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_datasets_listing_price_desc', table_name='datasets')
    op.drop_index('ix_datasets_listing_price_asc', table_name='datasets')
    op.drop_table('search_vocabulary')
    op.drop_table('facet_pairs')
    op.drop_table('search_docs')
    op.drop_table('facet_codes')
    op.drop_index('ix_search_postings_rank', table_name='search_postings', postgresql_include=['facets'])
    op.drop_table('search_postings')
