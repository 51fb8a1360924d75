"""The Telegram front end: handlers, answer rendering, configuration and the console."""
