"""Money: one type (an amount in minor units plus an ISO 4217 currency) and one formatter, used by
services, the API, pages, the CLI and the SDK alike. Standard library only, so the SDK can import
it without loading the server.

Bounds live here too. Every quantity, price and total is an integer far inside a 64-bit column
after scaling (a GiB quota is quantity x 2**30), so arithmetic never overflows and a typo of a
dozen zeros is refused with the limit named instead of becoming a trillion-euro invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Units a buyer may order at once (records, downloads, GiB, term periods) and an offer may include.
MAX_QUANTITY = 10**9
# One unit's price, and one order's total, in minor units (cents): 10 million and 1 billion in
# major units for two-decimal currencies.
MAX_UNIT_PRICE_MINOR = 10**9
MAX_TOTAL_MINOR = 10**11

# ISO 4217 minor-unit exponents that are not 2 (Stripe's list of zero- and three-decimal currencies).
_EXPONENTS = {c: 0 for c in ("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF")}
_EXPONENTS.update({c: 3 for c in ("BHD", "JOD", "KWD", "OMR", "TND")})
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "CHF": "CHF "}


# ISO 4217 codes of the currencies in circulation (funds, precious metals, test and "no
# currency" codes left out): what an offer may be priced in.
CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES
VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split())


def is_currency(code: object) -> bool:
    """Whether `code` is an ISO 4217 currency in circulation (upper or lower case)."""
    return isinstance(code, str) and code.upper() in CURRENCIES


class MoneyError(ValueError):
    """An amount that is not money: wrong type, unknown currency shape, or out of bounds."""


def exponent(currency: str) -> int:
    """Digits after the decimal point in `currency` (2 for most)."""
    return _EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True, order=False)
class Money:
    """An amount in minor units of one currency. Arithmetic never mixes currencies."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError("An amount is a whole number of minor units.")
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isalpha() and self.currency.isascii()):
            raise MoneyError("A currency is a three-letter ISO 4217 code.")
        object.__setattr__(self, "currency", self.currency.upper())

    def __add__(self, other: "Money") -> "Money":
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError("Amounts in different currencies cannot be added.")
        return Money(self.minor + other.minor, self.currency)

    def times(self, quantity: int) -> "Money":
        return Money(self.minor * quantity, self.currency)

    @property
    def major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def format(self) -> str:
        """"€1,234.50", "¥500", "12.345 KWD": what pages, the CLI and e-mails show."""
        digits = exponent(self.currency)
        number = f"{abs(self.major):,.{digits}f}"
        sign = "-" if self.minor < 0 else ""
        symbol = _SYMBOLS.get(self.currency)
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {self.currency}"

    def __str__(self) -> str:
        return self.format()


def format_money(minor: int | None, currency: str | None) -> str:
    """Format an amount given as minor units and a currency; empty for no amount."""
    if minor is None or not currency:
        return ""
    return Money(int(minor), currency).format()


def parse_major(text: str, currency: str) -> Money:
    """A price typed in major units ("12.50") as Money; refuses more decimals than the currency has,
    negatives, exponents and anything above MAX_UNIT_PRICE_MINOR."""
    raw = (text or "").strip().replace(",", "")
    try:
        if not raw or any(c not in "0123456789." for c in raw):
            raise InvalidOperation
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError("Type an amount such as 12.50.") from None
    digits = exponent(currency)
    if len(raw) > 40:  # past what decimal's default context handles exactly
        raise MoneyError("Type an amount such as 12.50 (too many digits).")
    if value.adjusted() > 18:
        raise MoneyError(f"At most {Money(MAX_UNIT_PRICE_MINOR, currency).format()}.")
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise MoneyError(f"{currency.upper()} has {digits} decimal places.")
    m = int(minor)
    if m > MAX_UNIT_PRICE_MINOR:
        raise MoneyError(f"At most {Money(MAX_UNIT_PRICE_MINOR, currency).format()}.")
    return Money(m, currency)


def check_total(total: Money) -> None:
    """Refuse an order total above MAX_TOTAL_MINOR, naming the limit."""
    if total.minor > MAX_TOTAL_MINOR:
        raise MoneyError(f"An order totals at most {Money(MAX_TOTAL_MINOR, total.currency).format()}; this one would be {total.format()}.")


# What one unit of a price buys, as a price is read aloud: "€25.00 per GiB".
_PER = {"records": "per record", "gib": "per GiB", "downloads": "per download", "term": "per term", "hours": "per hour"}


def price_label(minor: int | None, currency: str | None, unit: str | None) -> str:
    """A price with its unit ("€25.00 per GiB"); the unit is left out only when unknown."""
    money = format_money(minor, currency)
    return f"{money} {_PER[unit]}" if minor is not None and unit in _PER else money
