"""The coordinator database: tables, column types, engine and migrations."""
