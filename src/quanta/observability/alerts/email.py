"""Email over SMTP (standard library): optional implicit TLS or STARTTLS, optional login."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from quanta.observability.alerts.base import (
    Alert,
    AlertSink,
    DeliveryError,
    PermanentDeliveryError,
    SinkConfig,
)


class EmailConfig(SinkConfig):
    type: Literal["email"] = "email"
    host: str = Field(description="SMTP server.")
    port: int = Field(default=25, ge=1, le=65535)
    tls: bool = Field(default=False, description="Implicit TLS from the first byte (usually port 465).")
    starttls: bool = Field(default=False, description="Upgrade to TLS with STARTTLS (usually port 587).")
    ca_file: str | None = Field(default=None, description="CA certificates to trust (a private CA).")
    username: str | None = None
    password_env: str | None = Field(default=None, description="Environment variable holding the password.")
    sender: str = Field(alias="from", description="The From address.")
    to: list[str] = Field(min_length=1, description="Recipients.")

    @model_validator(mode="after")
    def _consistent(self) -> EmailConfig:
        if self.tls and self.starttls:
            raise ValueError("choose tls (implicit) or starttls, not both")
        if (self.username is None) != (self.password_env is None):
            raise ValueError("give both username and password_env to log in, or neither")
        return self


def message(alert: Alert, sender: str, to: list[str]) -> EmailMessage:
    """The email of an alert: the title as subject, the message and the facts as plain text."""
    mail = EmailMessage()
    mail["Subject"] = f"[quanta] {alert.severity}: {alert.title}"
    mail["From"], mail["To"] = sender, ", ".join(to)
    mail["Date"], mail["Message-ID"] = formatdate(localtime=False), make_msgid(idstring=alert.id)
    mail["X-Quanta-Alert"], mail["X-Quanta-Event"] = alert.id, alert.kind
    facts = [f"event: {alert.kind}", f"severity: {alert.severity}", f"at: {alert.at:%Y-%m-%d %H:%M:%S} UTC"]
    if alert.product_id:
        facts.insert(0, f"product: {alert.product_id}")
    if alert.incident:
        facts.append(f"incident: #{alert.incident.get('id')} ({alert.incident.get('status')})")
    mail.set_content(f"{alert.message}\n\n" + "\n".join(facts) + "\n")
    return mail


class EmailSink(AlertSink):
    """Sends each alert as an email."""

    type_name: ClassVar[str] = "email"
    Config: ClassVar[type[SinkConfig]] = EmailConfig
    config: EmailConfig

    def send(self, alert: Alert) -> None:
        c = self.config
        password = self.secret(c.password_env).get_secret_value() if c.password_env else None
        try:
            with self._connect() as smtp:
                if c.starttls:
                    smtp.starttls(context=self._tls())
                if c.username and password is not None:
                    smtp.login(c.username, password)
                smtp.send_message(message(alert, c.sender, c.to))
        except (
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPNotSupportedError,
        ) as exc:
            raise PermanentDeliveryError(f"sink {self.name}: {_say(exc)}", hint="check the sink") from None
        except smtplib.SMTPResponseException as exc:
            error = DeliveryError if exc.smtp_code < 500 else PermanentDeliveryError
            raise error(
                f"sink {self.name}: {_say(exc)}", hint="retried later" if exc.smtp_code < 500 else None
            ) from None
        except (OSError, smtplib.SMTPException) as exc:  # timeouts, refused connections, dropped sessions
            raise DeliveryError(f"sink {self.name}: {_say(exc)}", hint="retried later") from None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.tls:
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._tls())
        return smtplib.SMTP(c.host, c.port, timeout=c.timeout)

    def _tls(self) -> ssl.SSLContext:
        """Verified TLS: the system's CAs, or the configured ``ca_file``."""
        return ssl.create_default_context(cafile=self.config.ca_file)

    def problems(self) -> list[str]:
        return self.missing(self.config.password_env)


def _say(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()[:300]
