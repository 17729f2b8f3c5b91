"""Roster import (名册导入): template, upload, streamed parsing, validation, batched upsert."""
