"""Messages for members, with or without a database.

Inside a transaction on a database, gettext is Tryton's: ir.message and its
translations. Some texts are needed where there is none: the contract's
answer to an unknown path, a busy database or a server with no [duoduo]
database, or an SMS text or WeChat error met outside a request (the vendors'
tests, a script). There gettext reads the message from the files a database
loads it from, the addon's message.xml and locale/<language>.po: a text is
written once, and answering never depends on the database being reachable
(a path scanner's 404s open no transaction, a "busy" answer does not need
the database that is busy)."""
import functools
import os
from xml.etree import ElementTree

import polib

from trytond import config
from trytond.i18n import gettext as tryton_gettext
from trytond.tools import file_open, find_path
from trytond.transaction import Transaction

MESSAGE_CONTEXT = 'model:ir.message,text:'


def member_language():
    "The language of the texts members read ([duoduo] language)"
    return config.get('duoduo', 'language', default='zh_CN') or 'zh_CN'


def gettext(message_id, language=None, **variables):
    """The text of the ir.message 'module.id' in language (the
    transaction's, else the members'), its %(name)s filled with variables"""
    if Transaction().database:
        if language is None:
            return tryton_gettext(message_id, **variables)
        return tryton_gettext(message_id, language, **variables)
    return file_text(message_id, language or member_language(), **variables)


def file_text(message_id, language, **variables):
    """The text of the ir.message 'module.id' in language, read from the
    addon's files (message.xml, locale/<language>.po), whatever the
    database has loaded: for texts stored in a fixed language"""
    module, id_ = message_id.split('.')
    text = _texts(module, language)[id_]
    return text % variables if variables else text


@functools.cache
def _texts(module, language):
    "{id: text} of the module's messages, translated into language if it can"
    with file_open(os.path.join(module, 'message.xml'), mode='rb') as file:
        tree = ElementTree.parse(file)
    sources = {}
    for record in tree.iter('record'):
        if record.get('model') != 'ir.message':
            continue
        for field in record.iter('field'):
            if field.get('name') == 'text':
                sources[record.get('id')] = field.text
    texts = dict(sources)
    try:
        path = find_path(os.path.join(module, 'locale', f'{language}.po'))
    except FileNotFoundError:
        return texts    # English, or a language the addon does not have
    for entry in polib.pofile(path):
        if not (entry.msgctxt or '').startswith(MESSAGE_CONTEXT):
            continue
        id_ = entry.msgctxt[len(MESSAGE_CONTEXT):]
        # as Tryton: a fuzzy translation, or one of another source, is unused
        if (entry.msgstr and not entry.fuzzy
                and sources.get(id_) == entry.msgid):
            texts[id_] = entry.msgstr
    return texts


ECHO_LENGTH = 50


def echo(value, length=ECHO_LENGTH):
    """A value the member sent, as a message may quote it: at most length
    characters (then an ellipsis), so an answer never repeats a huge input"""
    text = value if isinstance(value, str) else str(value)
    if len(text) > length:
        return text[:length] + '…'
    return text
