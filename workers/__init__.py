"""Builds and runs the worker that hosts CaseWorkflow and its activities."""
