"""Pages: Markdown to HTML, the one stylesheet, tables and numbers, for the report and the hand-in alike. Ground
floor: it imports nothing of cnnlab but the atomic writer."""
