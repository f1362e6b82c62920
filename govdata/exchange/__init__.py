"""共享交换: requests, decisions with working-day deadlines, grants, audited access."""
