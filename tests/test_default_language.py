"""Members read Chinese in a database built the README's way with the
shipped trytond.conf, even when the operator leaves `-l zh_CN` out of the
activation command.

One SQLite file database, built by `trytond-admin` as an operator would
(whatever backend the suite runs on), then one member's requests served by
the WSGI app as gunicorn would (`trytond.application:app`)."""
import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent  # the venv's bin: trytond-admin, python

# Served in the built database: the answers a member reads
MEMBER_REQUESTS = r'''
import json
from werkzeug.test import Client
from trytond.application import app

client = Client(app)
answers = []
for body in [
        {'phone': '13900000001'},
        {'phone': 'abc'},
        ]:
    response = client.post('/user/send_tel_code/', json=body)
    answers.append([response.status_code, response.get_json()])
response = client.post('/user/login/',
    json={'phone': '13900000001', 'code': 'nope'})
answers.append([response.status_code, response.get_json()])
print(json.dumps(answers))
'''


def clean_environ(**extra):
    "The environment without what conftest sets for in-process tests"
    env = {k: v for k, v in os.environ.items()
        if not k.startswith(('TRYTOND_', 'TRYTON_', 'TRYTONPASSFILE'))
        and k != 'DB_NAME'}
    env.update(extra)
    return env


def run(*command, env):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, env=env,
        timeout=600, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert result.returncode == 0, (
        f"{' '.join(command[:4])} failed ({result.returncode}):\n"
        + result.stdout[-2000:] + result.stderr[-4000:])
    return result.stdout


def test_members_read_chinese_without_l_zh_cn(tmp_path):
    # the shipped trytond.conf, only its paths and database changed
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / 'trytond.conf', encoding='utf-8')
    config['database']['uri'] = 'sqlite://'
    config['database']['path'] = str(tmp_path)
    config['duoduo']['database'] = 'duoduo'
    config['duoduo']['sms_log'] = str(tmp_path / 'sms.log')
    config_file = tmp_path / 'trytond.conf'
    with open(config_file, 'w', encoding='utf-8') as file:
        config.write(file)
    (tmp_path / 'duoduo.sqlite').touch()
    password_file = tmp_path / 'adminpass'
    password_file.write_text('a long admin password')

    # the README's production commands, without `-l zh_CN`
    run('trytond-admin', '-c', str(config_file), '-d', 'duoduo', '--all',
        '--email', 'admin@example.com',
        env=clean_environ(TRYTONPASSFILE=str(password_file)))
    run('trytond-admin', '-c', str(config_file), '-d', 'duoduo',
        '-u', 'duoduo_api', '--activate-dependencies', env=clean_environ())

    output = run('python', '-c', MEMBER_REQUESTS, env=clean_environ(
            TRYTOND_CONFIG=str(config_file),
            TRYTOND_DATABASE_NAMES='duoduo'))
    sent, bad_phone, wrong_code = json.loads(output.splitlines()[-1])
    # duoduo_api's message, then duoduo_base's
    assert sent == [200, {'code': 200, 'msg': '验证码已发送',
            'data': {'expire_time': 300}}]
    assert bad_phone == [400, {'code': 400,
            'msg': '“abc”不是有效的中国大陆手机号', 'data': {}}]
    assert wrong_code == [400, {'code': 1001, 'msg': '验证码错误或已过期',
            'data': {}}]
