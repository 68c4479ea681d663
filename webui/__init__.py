"""cadreflow's thin web adapter: Flask blueprints over the engine's services. No business rule here."""

from webui.app import create_app

__all__ = ["create_app"]
