# English: 1 Dec 2026, 20:45:00, and 1 Dec, 20:45 where the year is plain (24-hour, as the shop's clock).
DATETIME_FORMAT = "j M Y, H:i:s"
SHORT_DATETIME_FORMAT = "j M, H:i"
TIME_FORMAT = "H:i:s"
