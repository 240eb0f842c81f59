// SQLite CA store: being written for issue 5.
