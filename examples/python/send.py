# The classic smtplib example; only the import line and the connection settings differ.
# For a local server with its own CA, point SSL_CERT_FILE at the CA (starttls() verifies).
import os

from polymailer import smtplib  # was: import smtplib
from email.mime.text import MIMEText

smtp_server = os.environ.get("SMTP_HOST", "smtp.mailgun.org")
port = int(os.environ.get("SMTP_PORT", "587"))
username = os.environ.get("SMTP_USER", "user@example.com")
password = os.environ.get("SMTP_PASS", "yourpassword")
receiver = "receiver@example.com"

msg = MIMEText("This is a test email sent using Python.")
msg["Subject"] = "Hello from Python"
msg["From"] = username
msg["To"] = receiver

with smtplib.SMTP(smtp_server, port) as server:
    server.starttls()
    server.login(username, password)
    server.send_message(msg)
print("Email sent")
