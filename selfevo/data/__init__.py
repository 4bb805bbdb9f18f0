"""The documents and the test sets: converting files to Markdown, chunking, the test records and the teacher's QA."""
