# Stubs for the Rust extension polymailer._native (checked against the module by tests/test_stubs.py).
from email.message import Message as _EmailMessage
from os import PathLike
from typing import Any, Callable, Mapping, Optional, Sequence, Union

__version__: str

_Addresses = Union[str, Sequence[Union[str, tuple[Optional[str], str]]], None]
_Attachment = Union[str, PathLike[str], Mapping[str, Any]]
_Outgoing = Union["Message", _EmailMessage, bytes]
_CodeMsg = tuple[int, bytes]

class Message:
    def __init__(
        self,
        *,
        from_: _Addresses = None,
        to: _Addresses = None,
        subject: Optional[str] = None,
        text: Optional[str] = None,
        html: Optional[str] = None,
        cc: _Addresses = None,
        bcc: _Addresses = None,
        reply_to: _Addresses = None,
        sender: _Addresses = None,
        attachments: Optional[list[_Attachment]] = None,
        headers: Optional[dict[str, str]] = None,
        message_id: Optional[str] = None,
        date: Optional[float] = None,
        priority: Optional[str] = None,
        in_reply_to: Optional[str] = None,
        references: Optional[list[str]] = None,
        list: Optional[Mapping[str, Any]] = None,
        one_click_unsubscribe: bool = False,
    ) -> None: ...
    def as_bytes(self) -> bytes: ...
    @property
    def subject(self) -> Optional[str]: ...

class SendReport:
    message_id: Optional[str]
    envelope_from: Optional[str]
    envelope_to: list[str]
    accepted: list[str]
    rejected: list[tuple[str, int, str]]
    response: str
    code: int

class Mailer:
    def __init__(
        self,
        host: str = "localhost",
        port: int = 587,
        *,
        security: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        oauth2_token: Optional[str] = None,
        timeout: Optional[float] = None,
        pool: int = 1,
        max_messages: int = 0,
        local_hostname: Optional[str] = None,
        tls: Optional[Mapping[str, Any]] = None,
        dkim: Optional[Mapping[str, Any]] = None,
        rate_limit: Optional[tuple[int, float]] = None,
        allow_insecure_auth: bool = False,
        verp: Optional[Mapping[str, Any]] = None,
    ) -> None: ...
    @staticmethod
    def from_url(url: str) -> "Mailer": ...
    def send(self, message: _Outgoing) -> SendReport: ...
    def send_many(self, messages: Sequence[_Outgoing]) -> list[Union[SendReport, Exception]]: ...
    def _send_callback(
        self, message: _Outgoing, done: Callable[[Optional[SendReport], Optional[BaseException]], None]
    ) -> None: ...
    def verify(self) -> None: ...
    def close(self) -> None: ...
    def _preflight(
        self, domain: Optional[str] = None, options: Optional[Mapping[str, Any]] = None
    ) -> tuple[str, str]: ...
    @property
    def idle_connections(self) -> int: ...

class Connection:
    @staticmethod
    def open(
        host: str,
        port: int,
        *,
        timeout: Optional[float] = None,
        local_hostname: Optional[str] = None,
        source_address: Optional[tuple[str, int]] = None,
        implicit_tls: bool = False,
        tls: Optional[Mapping[str, Any]] = None,
        record: bool = False,
        lmtp: bool = False,
        unix_socket: Optional[str] = None,
    ) -> tuple["Connection", _CodeMsg]: ...
    def set_recording(self, on: bool) -> None: ...
    def take_transcript(self) -> list[tuple[str, str]]: ...
    def ehlo(self, name: Optional[str] = None) -> _CodeMsg: ...
    def helo(self, name: Optional[str] = None) -> _CodeMsg: ...
    def features(self) -> list[tuple[str, str]]: ...
    @property
    def is_tls(self) -> bool: ...
    def starttls(self, tls: Optional[Mapping[str, Any]] = None) -> _CodeMsg: ...
    def login(
        self, user: str, secret: str, mechanism: Optional[str] = None, initial_response: bool = True
    ) -> _CodeMsg: ...
    def auth_line(self, line: str) -> _CodeMsg: ...
    def send(self, data: bytes) -> None: ...
    def getreply(self) -> _CodeMsg: ...
    @property
    def usable(self) -> bool: ...
    def docmd(self, line: str) -> _CodeMsg: ...
    def data(self, content: bytes) -> _CodeMsg: ...
    def sendmail(
        self,
        from_addr: str,
        to_addrs: list[str],
        msg: bytes,
        mail_options: list[str] = ...,
        rcpt_options: list[str] = ...,
    ) -> tuple[dict[str, tuple[int, bytes]], _CodeMsg]: ...
    def sendmail_many(
        self, items: list[tuple[str, list[str], bytes, list[str], list[str]]]
    ) -> list[Union[tuple[dict[str, tuple[int, bytes]], _CodeMsg], BaseException]]: ...
    def quit(self) -> Optional[_CodeMsg]: ...
    def close(self) -> None: ...

def service(name: str) -> dict[str, Any]: ...
def prepare_raw(msg: bytes) -> tuple[Optional[str], list[str], bytes]: ...
def check_domain(domain: str, options: Optional[Mapping[str, Any]] = None) -> tuple[str, str]: ...
def dkim_keygen(domain: str, selector: str, algorithm: str = "rsa") -> dict[str, Any]: ...
def cli_main(argv: list[str]) -> int: ...
def parse_bounce(
    raw: bytes, verp_secret: Optional[Union[str, bytes]] = None, max_size: Optional[int] = None
) -> tuple[str, str]: ...
def decode_verp(address: str, secret: Optional[Union[str, bytes]] = None) -> str: ...
