"""duoduo-demo-data: fill a database with a demo team, idempotently.

    duoduo-demo-data -c trytond.conf -d demo

Creates 36 members in a four-generation referral tree across the member
levels, in several cities, and makes the back office usable at once: the
`admin` user gets the password `admin` (DEMO ONLY) and Chinese menus.
Running it again changes nothing that is already there.

    duoduo-demo-data -c trytond.conf -d demo --pdd

adds, while the PDD simulator runs (bin/demo-serve starts it), PIDs for the
partners, platform picks and orders bought through members' links, then
syncs the orders like the cron job does."""
import argparse
import logging

# (phone, nickname, level code, referrer phone, city, district)
MEMBERS = [
    ('13805430001', '张伟', 3, None, '滨州市', '滨城区'),
    ('13805430002', '王芳', 2, '13805430001', '滨州市', '滨城区'),
    ('13805430003', '李娜', 2, '13805430001', '滨州市', '沾化区'),
    ('13805430004', '刘洋', 1, '13805430002', '滨州市', '滨城区'),
    ('13805430005', '陈静', 1, '13805430002', '滨州市', '惠民县'),
    ('13805430006', '杨磊', 0, '13805430002', '滨州市', '滨城区'),
    ('13805430007', '赵敏', 0, '13805430003', '滨州市', '沾化区'),
    ('13805430008', '黄勇', 1, '13805430003', '滨州市', '博兴县'),
    ('13805430009', '周杰', 0, '13805430004', '滨州市', '滨城区'),
    ('13805430010', '吴婷', 0, '13805430004', '滨州市', '邹平市'),
    ('13805430011', '徐强', 0, '13805430005', '滨州市', '惠民县'),
    ('13805430012', '孙丽', 0, '13805430005', '滨州市', '惠民县'),
    ('13805430013', '马超', 0, '13805430008', '滨州市', '博兴县'),
    ('13805430014', '朱琳', 0, '13805430008', '滨州市', '博兴县'),
    ('13805430015', '胡军', 0, '13805430009', '滨州市', '滨城区'),
    ('13805430016', '郭晶', 0, '13805430009', '滨州市', '滨城区'),
    ('13957120001', '何雪', 2, None, '杭州市', '西湖区'),
    ('13957120002', '林峰', 1, '13957120001', '杭州市', '西湖区'),
    ('13957120003', '罗敏', 1, '13957120001', '杭州市', '拱墅区'),
    ('13957120004', '高翔', 0, '13957120001', '杭州市', '余杭区'),
    ('13957120005', '郑爽', 0, '13957120002', '杭州市', '西湖区'),
    ('13957120006', '梁晨', 0, '13957120002', '杭州市', '上城区'),
    ('13957120007', '谢娟', 0, '13957120003', '杭州市', '拱墅区'),
    ('13957120008', '宋涛', 0, '13957120003', '杭州市', '滨江区'),
    ('13957120009', '唐颖', 0, '13957120005', '杭州市', '西湖区'),
    ('13957120010', '韩冰', 0, '13957120005', '杭州市', '西湖区'),
    ('18628030001', '冯刚', 2, None, '成都市', '武侯区'),
    ('18628030002', '邓倩', 1, '18628030001', '成都市', '武侯区'),
    ('18628030003', '曹阳', 0, '18628030001', '成都市', '锦江区'),
    ('18628030004', '彭丹', 0, '18628030002', '成都市', '青羊区'),
    ('18628030005', '曾凯', 0, '18628030002', '成都市', '武侯区'),
    ('18628030006', '萧红', 0, '18628030004', '成都市', '青羊区'),
    ('18628030007', '田野', 0, '18628030004', '成都市', '金牛区'),
    ('18628030008', '董洁', 0, '18628030006', '成都市', '青羊区'),
    ('15011880001', '袁博', 1, None, '北京市', '朝阳区'),
    ('15011880002', '潘悦', 0, '15011880001', '北京市', '海淀区'),
    ]

AVATAR = 'https://img.example.com/avatar/{}.png'

# What the mini-program's home, search and help pages show (内容模块)
BANNERS = [
    ('双十二年终狂欢', 'https://img.example.com/banner/1212.png',
        '/pages/activity/index?type=1'),
    ('新人专享1分购', 'https://img.example.com/banner/newcomer.png',
        '/pages/goods/detail?id=1'),
    ('多多客招募合伙人', 'https://img.example.com/banner/partner.png',
        'https://duo.example.com/partner'),
    ]
# (title, icon, header image, sid: the /tbk/activitygoods/ type)
ACTIVITIES = [
    ('1.9包邮', 'https://img.example.com/activity/19.png',
        'https://img.example.com/activity/19-head.png', 0),
    ('今日爆款', 'https://img.example.com/activity/hot.png',
        'https://img.example.com/activity/hot-head.png', 1),
    ('品牌清仓', 'https://img.example.com/activity/brand.png',
        'https://img.example.com/activity/brand-head.png', 2),
    ]
HOT_WORDS = ['手机', '服装', '零食', '纸巾', '洗衣液', '蓝牙耳机']
# category: [(question, answer)]
FAQ = {
    '订单相关': [
        ('下单后多久能看到订单?', '<p>付款后一般 <b>5 分钟</b>内同步到“我的订单”。</p>'),
        ('为什么订单显示失效?', '<p>退款、取消或违规的订单不计佣金,显示为失效。</p>'),
        ],
    '提现相关': [
        ('如何提现?', '<p>进入“我的收益”,点击“提现”,按提示操作即可。</p>'),
        ('佣金什么时候可以提现?', '<p>订单确认收货并结算后,佣金进入可提现余额。</p>'),
        ],
    }


def open_pool(config_file, database):
    "trytond configured by config_file, and database's pool loaded"
    from trytond import config
    config.update_etc(config_file)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    Pool.start()
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    return pool


def load(config_file, database):
    from trytond.transaction import Transaction
    pool = open_pool(config_file, database)
    with Transaction().start(database, 0) as transaction:
        created = _load(pool)
        transaction.commit()
    return created


def _load(pool):
    User = pool.get('res.user')
    Lang = pool.get('ir.lang')
    ConfigItem = pool.get('ir.module.config_wizard.item')
    Level = pool.get('duoduo.member.level')
    Member = pool.get('duoduo.member')

    admin, = User.search([('login', '=', 'admin')])
    zh_cn, = Lang.search([('code', '=', 'zh_CN')])
    # Bypasses the password rules on purpose: admin/admin is for the demo.
    User.write([admin], {
            'password_hash': User.hash_password('admin'),
            'language': zh_cn.id,
            })
    # the back office would otherwise open on the set-up wizards
    ConfigItem.write(ConfigItem.search([('state', '!=', 'done')]),
        {'state': 'done'})

    levels = {level.code: level for level in Level.search([])}
    existing = {m.phone: m for m in Member.search([])}
    created = 0
    for phone, nickname, level, referrer, city, district in MEMBERS:
        if phone in existing:
            continue
        member, = Member.create([{
                    'phone': phone,
                    'nickname': nickname,
                    'level': levels[level].id,
                    'referrer': existing[referrer].id if referrer else None,
                    'city': city,
                    'district': district,
                    'avatar': AVATAR.format(phone[-4:]),
                    }])
        existing[phone] = member
        created += 1
    _load_content(pool)
    return created


def _load_content(pool):
    "Banners, activity entrances, hot words and the FAQ not there yet"
    Banner = pool.get('duoduo.content.banner')
    Activity = pool.get('duoduo.content.activity')
    HotWord = pool.get('duoduo.content.hotword')
    Category = pool.get('duoduo.content.question.category')
    Question = pool.get('duoduo.content.question')
    every = [('active', 'in', [True, False])]

    def missing(Model, name, values):
        there = {getattr(r, name) for r in Model.search(every)}
        return [v for v in values if v[name] not in there]

    Banner.create(missing(Banner, 'title', [
                {'title': title, 'pic': pic, 'url': url, 'sequence': i}
                for i, (title, pic, url) in enumerate(BANNERS, 1)]))
    Activity.create(missing(Activity, 'title', [
                {'title': title, 'pic': pic, 'hpic': hpic, 'sid': sid,
                    'sequence': i}
                for i, (title, pic, hpic, sid) in enumerate(ACTIVITIES, 1)]))
    HotWord.create(missing(HotWord, 'word', [
                {'word': word, 'sequence': i}
                for i, word in enumerate(HOT_WORDS, 1)]))
    Category.create(missing(Category, 'name', [
                {'name': name, 'sequence': i}
                for i, name in enumerate(FAQ, 1)]))
    categories = {c.name: c for c in Category.search(every)}
    Question.create(missing(Question, 'title', [
                {'title': title, 'content': content, 'sequence': i,
                    'category': categories[name].id}
                for name, questions in FAQ.items()
                for i, (title, content) in enumerate(questions, 1)]))


# Partners (合伙人) who get a PID of their own, named after them as the
# 多多进宝 guide asks
PARTNERS = ['13805430002', '13957120001']
# Members who bought through their own links: (phone, status now, the
# statuses still to come as (seconds from now, status))
BUYERS = [
    ('13805430001', 5, []),
    ('13805430002', 3, [(600, 5)]),
    ('13805430004', 1, [(300, 2), (900, 3)]),
    ('13805430006', 0, [(120, 1), (600, 2)]),
    ('13957120002', 2, [(600, 3)]),
    ('13957120005', 4, []),
    ('18628030002', 0, [(300, 1)]),
    ('15011880002', 5, []),
    ]
PICKS = 8


def load_pdd(config_file, database):
    """PIDs, the default PID, platform picks and a few orders, through the
    PDD gateway trytond.conf names (the simulator `make demo` starts)."""
    from trytond.transaction import Transaction, TransactionError
    pool = open_pool(config_file, database)
    extras = {}
    while True:
        with Transaction().start(database, 0, **extras) as transaction:
            try:
                summary = _load_pdd(pool)
            except TransactionError as error:
                # the settings singleton asks for its table lock first
                transaction.rollback()
                error.fix(extras)
                continue
            transaction.commit()
            break
    with Transaction().start(database, 0) as transaction:
        Sync = pool.get('duoduo.pdd.order.sync')
        Sync.run_increment()
        transaction.commit()
    return summary


def _load_pdd(pool):
    import requests
    Configuration = pool.get('duoduo.pdd.configuration')
    Member = pool.get('duoduo.member')
    Order = pool.get('duoduo.pdd.order')
    Pick = pool.get('duoduo.pdd.pick')
    Pid = pool.get('duoduo.pdd.pid')

    configuration = Configuration(1)
    summary = []
    if not Pid.search([]):
        partners = [Member.find_by_phone(phone) for phone in PARTNERS]
        names = ['小程序默认推广位'] + [p.nickname for p in partners]
        default, *own = Pid.generate(len(names), names=names)
        configuration.default_pid = default.p_id
        configuration.save()
        for pid, partner in zip(own, partners):
            pid.assign_to(partner)
        summary.append(f"{len(names)} PIDs")
    client = Configuration.get_client()
    if not Pick.search([]):
        goods = client.call('pdd.ddk.goods.search', sort_type=6,
            page_size=PICKS, pid=Configuration.get_pid())['goods_list']
        Pick.create([{'goods_sign': g['goods_sign'], 'sequence': i}
                for i, g in enumerate(goods)])
        summary.append(f"{len(goods)} platform picks")
    if not Order.search([]):
        # the simulator's own control endpoint: a member buying through
        # their link, as PDD would later report it
        simulator = client.gateway_url.rsplit('/api/router', 1)[0]
        catalog = client.call('pdd.ddk.goods.search', page_size=len(BUYERS),
            pid=Configuration.get_pid())['goods_list']
        for (phone, status, schedule), goods in zip(BUYERS, catalog):
            member = Member.find_by_phone(phone)
            requests.post(f'{simulator}/_simulator/orders', json={
                    'goods_sign': goods['goods_sign'],
                    'pid': member.pdd_promotion_pid(),
                    'custom_parameters': member.pdd_custom_parameters(),
                    'status': status,
                    'schedule': schedule,
                    }, timeout=5).raise_for_status()
        summary.append(f"{len(BUYERS)} orders placed")
    return ', '.join(summary) or 'nothing new'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--pdd', action='store_true',
        help="PIDs, picks and orders through the PDD gateway (the demo's "
        "simulator must be running)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.pdd:
        print(f"demo PDD data: {load_pdd(args.config, args.database)}")
        return
    created = load(args.config, args.database)
    print(f"demo data: {created} members created, "
        f"{len(MEMBERS) - created} already there")


if __name__ == '__main__':
    main()
