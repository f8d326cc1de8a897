# Traditional Chinese (Taiwan): 2026年12月1日 20:45:00, and 12月1日 20:45 where the year is plain.
DATETIME_FORMAT = "Y年n月j日 H:i:s"
SHORT_DATETIME_FORMAT = "n月j日 H:i"
TIME_FORMAT = "H:i:s"
