"""The operator console: read-only HTML pages under /console for people with an operator token."""
