"""The operational report: as text and CSV (`text.py`) and as a self-contained HTML page
with its charts rendered into it (`html.py`)."""
