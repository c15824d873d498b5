from http import HTTPStatus

from trytond.model.exceptions import ValidationError
from trytond.modules.duoduo_base.exceptions import MemberError


class ContentUrlError(ValidationError):
    "An image or link URL staff entered is not one the mini-program opens"


class ContentWindowError(ValidationError):
    "A display window ends before it starts"


class ContentNotFoundError(MemberError):
    "The member asked for content that is not served (unknown, inactive)"
    contract_code = 404
    http_status = HTTPStatus.NOT_FOUND
