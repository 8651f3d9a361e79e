"""Config sections of the services beside polling: the web server, Matrix's account, the languages."""

from __future__ import annotations

from pydantic import SecretStr, field_validator, model_validator

from bot.config.fields import LanguageTag, Listen, Name, RequestTimeout, Url
from bot.config.sections import _Model, secret


class I18nConfig(_Model):
    """Languages: the one for subscribers without a language of their own, and for operator notices."""

    default_language: LanguageTag = "en"


class MatrixConfig(_Model):
    """The Matrix account alerts are sent from: its homeserver and access token."""

    homeserver: Url
    access_token: SecretStr
    timeout: RequestTimeout = 30.0

    _check_token = field_validator("access_token")(secret)


class ServerConfig(_Model):
    """The web server: where it listens (off unless set), the address people reach it at, the page title."""

    listen: Listen | None = None
    public_url: Url | None = None
    title: Name = "presswatch"

    @model_validator(mode="after")
    def _check_public_url(self) -> ServerConfig:
        """Links to public_url lead to this daemon's own web server: it must listen."""
        if self.public_url is not None and self.listen is None:
            raise ValueError("public_url needs listen: the links it makes lead to this server (like"
                             " listen: 127.0.0.1:8080 behind your https proxy)")
        return self
