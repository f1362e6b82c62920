"""govdata: 政务数据共享交换与开放平台 — catalog, exchange and open-data portal."""
