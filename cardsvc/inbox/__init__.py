"""In-app notifications for members and staff, with outbound delivery (SMS/WeChat)."""
