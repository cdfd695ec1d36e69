"""ISO 4217 currencies and the number of digits of their minor unit."""

# Active ISO 4217 codes with a minor unit of other than two digits.
_MINOR_DIGITS_EXCEPTIONS = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}

# Active ISO 4217 codes whose minor unit has two digits.
_TWO_DIGIT_CODES = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP
LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR
NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR
ZMW ZWG
"""

MINOR_DIGITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DIGIT_CODES.split(), 2),
    **_MINOR_DIGITS_EXCEPTIONS,
}


def is_currency(code: str) -> bool:
    """Whether `code` is an active ISO 4217 currency code (upper case)."""
    return code in MINOR_DIGITS


def minor_digits(code: str) -> int:
    """The number of decimal digits of the currency's minor unit (2 for EUR, 0 for JPY)."""
    return MINOR_DIGITS[code]
