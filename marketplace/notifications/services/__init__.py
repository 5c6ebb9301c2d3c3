"""The notification services: fan-out and delivery jobs, webhook endpoints, the centre."""
