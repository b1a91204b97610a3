"""SQLAlchemy 2 storage: engine, tables and mapping, repositories, unit of work, migrations."""
