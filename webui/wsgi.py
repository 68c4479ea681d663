"""WSGI entry for gunicorn: ``gunicorn 'webui.wsgi:app'`` (the database from CADREFLOW_DATABASE_URL)."""

from webui.app import create_app

app = create_app()
