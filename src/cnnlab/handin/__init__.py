"""`cnnlab handin`: the folder a student submits, built by one command (see build.py)."""
