"""Research exports (CSV, JSONL, WebVTT, SRT, TextGrid, ELAN), their codebook, blinding, and agreement with coders."""
