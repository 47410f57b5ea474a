"""Processes: workers that follow the log and record new events through the application.

They sit beside the read models and delivery (ADR 29): they may use the application and
the stores beneath it, and nothing above them imports them but the API and the CLI."""
