"""Mainland China mobile numbers, as members give them and staff see them."""
import phonenumbers

MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }


def normalize_phone(value):
    "The bare 11-digit mainland mobile number, or None when it is not one"
    if not value or not isinstance(value, str):
        return None
    try:
        number = phonenumbers.parse(value.strip(), 'CN')
    except phonenumbers.NumberParseException:
        return None
    if (number.country_code != 86
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in MOBILE_TYPES):
        return None
    return str(number.national_number)


def mask_phone(phone):
    if not phone or len(phone) < 7:
        return phone
    return phone[:3] + '****' + phone[-4:]
