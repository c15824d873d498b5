"""docs/openapi.json describes exactly the routes duoduo_api serves.

No database: the routes are read from trytond.wsgi.app's URL map, which the
duoduo_api modules fill when they are imported. Adding a route without
documenting it (or documenting one that is not served) fails here."""
import importlib
import json
import pathlib
import re

import pytest

import trytond.modules.duoduo_api  # noqa: F401 (registers the routes)
from trytond.modules.duoduo_api import api
from trytond.wsgi import app

DOCUMENT = pathlib.Path(__file__).parent.parent / 'docs' / 'openapi.json'
ADDONS = pathlib.Path(__file__).parent.parent / 'addons'
PACKAGE = 'trytond.modules.duoduo_api'
CATCH_ALL = '/<path:path>'
IGNORED_METHODS = {'HEAD', 'OPTIONS'}
HTTP_METHODS = {'get', 'put', 'post', 'delete', 'options', 'head', 'patch',
    'trace'}
TOKEN_SCHEME = 'MemberToken'


@pytest.fixture(scope='module')
def document():
    with DOCUMENT.open(encoding='utf-8') as file:
        return json.load(file)


def served_rules():
    """The rules duoduo_api registered, the catch-all 404 excepted (also
    registered on the API's folders, /user/, /tbk/…)"""
    return [rule for rule in app.url_map.iter_rules()
        if getattr(rule.endpoint, '__module__', '').startswith(PACKAGE)
        and rule.rule != CATCH_ALL and rule.endpoint is not api.not_found]


def openapi_path(rule):
    "Werkzeug '/a/<int:id>/' → OpenAPI '/a/{id}/'"
    return re.sub(r'<(?:[^:<>]+:)?([^<>]+)>', r'{\1}', rule.rule)


def served():
    return {(method, openapi_path(rule))
        for rule in served_rules()
        for method in rule.methods - IGNORED_METHODS}


def documented(document):
    return {(method.upper(), path)
        for path, item in document['paths'].items()
        for method in item if method in HTTP_METHODS}


def operations(document):
    for path, item in document['paths'].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def needs_token(endpoint):
    """The `auth` flag api.route() was given for endpoint, found in the
    closure of the view it built; None if endpoint was not built so."""
    seen, stack = set(), [endpoint]
    while stack:
        func = stack.pop()
        if id(func) in seen:
            continue
        seen.add(id(func))
        code = getattr(func, '__code__', None)
        if code is not None:
            cells = dict(zip(code.co_freevars, func.__closure__ or ()))
            if {'auth', 'func'} <= cells.keys():
                return bool(cells['auth'].cell_contents)
            for cell in func.__closure__ or ():
                try:
                    value = cell.cell_contents
                except ValueError:
                    continue
                if callable(value):
                    stack.append(value)
        wrapped = getattr(func, '__wrapped__', None)
        if wrapped is not None:
            stack.append(wrapped)
    return None


def token_routes():
    "{(method, path): whether the route needs a member token}"
    result = {}
    for rule in served_rules():
        auth = needs_token(rule.endpoint)
        assert auth is not None, (
            f"cannot tell whether {rule.rule} needs a token: was it "
            "registered without duoduo_api.api.route()?")
        for method in rule.methods - IGNORED_METHODS:
            result[method, openapi_path(rule)] = auth
    return result


def resolve(document, node):
    while isinstance(node, dict) and '$ref' in node:
        ref = node['$ref']
        assert ref.startswith('#/'), ref
        target = document
        for part in ref[2:].split('/'):
            assert part in target, f"unresolved $ref {ref}"
            target = target[part]
        node = target
    return node


def test_document_is_openapi_31(document):
    assert document['openapi'].startswith('3.1.')
    assert document['info']['title'] and document['info']['version']


def test_routes_are_found():
    # guards the test itself: an empty URL map would make it pass vacuously
    assert ('POST', '/user/login/') in served()
    assert ('GET', '/user/my_info/') in served()


def test_every_route_is_documented(document):
    missing = served() - documented(document)
    extra = documented(document) - served()
    assert not missing, f"routes served but not documented: {sorted(missing)}"
    assert not extra, f"documented but not served: {sorted(extra)}"


def test_every_operation_documents_success(document):
    for method, path, operation in operations(document):
        responses = operation.get('responses', {})
        assert '200' in responses, f"{method} {path}: no 200 response"
        content = resolve(document, responses['200']).get('content', {})
        assert 'application/json' in content, f"{method} {path}"
        example = content['application/json'].get('example')
        if example is not None:
            assert example['code'] == 200, f"{method} {path}"
            assert set(example) == {'code', 'msg', 'data'}


def test_token_routes_document_401(document):
    routes = token_routes()
    for method, path, operation in operations(document):
        if (method, path) not in routes:
            continue    # test_every_route_is_documented reports it
        security = operation.get('security', document.get('security', []))
        if routes[method, path]:
            assert '401' in operation['responses'], (
                f"{method} {path} needs a token but documents no 401")
            assert security == [{TOKEN_SCHEME: []}], (
                f"{method} {path} needs a token: security must require "
                f"{TOKEN_SCHEME}")
        else:
            assert not security or {} in security, (
                f"{method} {path} needs no token but the document "
                "requires one")


def test_security_scheme(document):
    scheme = document['components']['securitySchemes'][TOKEN_SCHEME]
    assert (scheme['type'], scheme['in'], scheme['name']) == (
        'apiKey', 'header', 'Authorization')
    assert 'Token <t>' in scheme['description']


def test_references_resolve(document):
    def walk(node):
        if isinstance(node, dict):
            if '$ref' in node:
                resolve(document, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(document)


def test_error_examples_match_statuses(document):
    "Each error example's code is one api.py answers with that HTTP status"
    # the codes are the exceptions' own: import every addon's
    for addon in sorted(ADDONS.glob('*/tryton.cfg')):
        importlib.import_module(f'trytond.modules.{addon.parent.name}')
    allowed = {(code, int(status)) for code, status in api.error_answers()}
    # ApiError, database busy or not configured, unexpected errors
    allowed |= {(400, 400), (503, 503), (500, 500)}
    for method, path, operation in operations(document):
        for status, response in operation['responses'].items():
            if status == '200':
                continue
            content = resolve(document, response).get('content', {})
            media = content.get('application/json')
            assert media, f"{method} {path} {status}: no JSON content"
            examples = [resolve(document, e)['value']
                for e in media.get('examples', {}).values()]
            if 'example' in media:
                examples.append(media['example'])
            assert examples, f"{method} {path} {status}: no example"
            for example in examples:
                assert (example['code'], int(status)) in allowed, (
                    f"{method} {path}: code {example['code']} is not "
                    f"answered with HTTP {status}")
                assert example['data'] == {}


def test_description_lists_codes(document):
    description = document['info']['description']
    for code in ['1001', '1002', '1003', '1004', '429', '503']:
        assert re.search(rf'\b{code}\b', description), code
