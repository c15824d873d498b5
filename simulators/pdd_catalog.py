"""The simulated 多多进宝 catalog: category trees and goods.

Everything is generated from a seed, so two simulators built with the same
seed hold the same goods (same goods_sign, names, prices) and tests may pick
goods by their properties. Money is in 分, rates in 千分比 (‰), times in
UNIX seconds, as the real API answers.
"""
import base64
import datetime as dt
import hashlib
import random

CHINA = dt.timezone(dt.timedelta(hours=8))
IMG = 'https://img.pddpic.com/mms-material-img/{day}/{name}.jpeg'

# (top name, cat_id, opt_id, price range in 分, [(child name, product
# names)]) — the cat ids of the first ones are those pdd.goods.cats.get
# really uses; children ids are made up.
TREE = [
    ('女装', 8439, 14, (2990, 15900), [
            ('连衣裙', ['法式碎花连衣裙', '收腰显瘦长裙', '雪纺小个子连衣裙']),
            ('T恤', ['纯棉短袖T恤女', '宽松印花T恤', '冰丝圆领打底衫']),
            ('卫衣', ['加绒连帽卫衣女', '宽松韩版卫衣', '半拉链学院风卫衣']),
            ('半身裙', ['高腰A字半身裙', '百褶中长裙', '牛仔包臀短裙']),
            ]),
    ('男装', 239, 743, (3990, 19900), [
            ('衬衫', ['免烫长袖衬衫男', '纯棉牛津纺衬衫', '商务修身白衬衫']),
            ('夹克', ['春秋工装夹克男', '立领休闲外套', '防风飞行员夹克']),
            ('休闲裤', ['冰丝直筒休闲裤', '束脚运动裤男', '弹力九分裤']),
            ('POLO衫', ['翻领POLO衫男', '速干商务POLO', '条纹短袖POLO衫']),
            ]),
    ('食品', 6398, 1, (590, 5990), [
            ('坚果', ['每日坚果混合装', '手剥巴旦木', '盐焗腰果仁']),
            ('饼干', ['全麦苏打饼干', '黄油曲奇礼盒', '粗粮代餐饼干']),
            ('方便速食', ['螺蛳粉整箱', '自热小火锅', '酸辣粉桶装']),
            ('茶叶', ['明前龙井绿茶', '云南普洱熟茶', '福鼎白茶饼']),
            ]),
    ('水果', 8172, 13, (990, 4990), [
            ('苹果', ['烟台红富士苹果', '阿克苏冰糖心苹果', '静宁高原苹果']),
            ('柑橘', ['赣南脐橙', '爱媛果冻橙', '砂糖橘新鲜']),
            ('车厘子', ['智利车厘子JJ级', '山东大樱桃', '美早樱桃礼盒']),
            ('芒果', ['海南贵妃芒', '攀枝花凯特芒', '小台农芒果']),
            ]),
    ('美妆', 69, 16, (1990, 12900), [
            ('面膜', ['玻尿酸补水面膜', '清洁泥膜', '睡眠免洗面膜']),
            ('口红', ['丝绒哑光口红', '滋润唇釉', '小金条口红套装']),
            ('洗面奶', ['氨基酸洗面奶', '控油祛痘洁面乳', '温和卸妆洁面']),
            ('精华', ['烟酰胺精华液', '视黄醇抗皱精华', '小棕瓶修护精华']),
            ]),
    ('母婴', 1590, 4, (990, 15900), [
            ('纸尿裤', ['超薄透气纸尿裤', '拉拉裤XL码', '新生儿尿不湿']),
            ('奶粉', ['婴幼儿配方奶粉3段', '羊奶粉', '儿童成长奶粉']),
            ('童装', ['儿童纯棉睡衣', '男童运动套装', '女童公主裙']),
            ('玩具', ['益智积木拼装', '儿童磁力片', '遥控越野车']),
            ]),
    ('家居百货', 15, 15, (190, 3990), [
            ('收纳', ['折叠收纳箱', '抽屉式收纳盒', '衣柜挂袋']),
            ('清洁', ['强力去污湿巾', '懒人抹布', '马桶清洁剂']),
            ('厨具', ['不粘炒锅', '304不锈钢饭盒', '硅胶锅铲套装']),
            ('纸巾', ['抽纸整箱家用', '原木卷纸', '便携手帕纸']),
            ]),
    ('数码电器', 5752, 18, (990, 19900), [
            ('耳机', ['蓝牙耳机降噪', '有线入耳式耳机', '骨传导运动耳机']),
            ('充电宝', ['20000毫安充电宝', '磁吸无线充电宝', '迷你胶囊充电宝']),
            ('数据线', ['Type-C快充数据线', '苹果编织数据线', '三合一充电线']),
            ('小家电', ['迷你榨汁杯', '电热水壶', '手持挂烫机']),
            ]),
    ('鞋包', 743, 1281, (2990, 17900), [
            ('运动鞋', ['透气跑步鞋', '增高老爹鞋', '轻便休闲板鞋']),
            ('帆布鞋', ['经典高帮帆布鞋', '小白鞋女', '一脚蹬懒人鞋']),
            ('双肩包', ['大容量双肩包', '学生书包', '防水电脑背包']),
            ('钱包', ['真皮短款钱包', '卡包零钱包一体', '长款手拿包']),
            ]),
    ('运动户外', 18482, 1451, (990, 9900), [
            ('瑜伽垫', ['加厚防滑瑜伽垫', 'TPE健身垫', '折叠瑜伽垫']),
            ('跳绳', ['计数跳绳', '钢丝负重跳绳', '无绳跳绳']),
            ('运动服', ['速干运动套装', '紧身健身服', '防晒冰丝外套']),
            ('保温杯', ['316不锈钢保温杯', '大容量吨吨桶', '便携运动水壶']),
            ]),
    ]
BRANDS = {
    '女装': ['太平鸟', '森马'], '男装': ['海澜之家', '七匹狼'],
    '食品': ['三只松鼠', '良品铺子'], '水果': ['佳沛', '褚橙'],
    '美妆': ['百雀羚', '自然堂'], '母婴': ['好奇', '贝亲'],
    '家居百货': ['维达', '清风'], '数码电器': ['小米', '倍思'],
    '鞋包': ['回力', '安踏'], '运动户外': ['李宁', '迪卡侬'],
    }
PREFIXES = ['', '', '2024新款', '爆款', '官方正品', '限时特惠', '工厂直发',
    '热卖', '【顺丰包邮】', '加厚']
SUFFIXES = ['', '', ' 包邮', ' 家庭装', ' 送礼', ' 大码', ' 升级款', ' 2件装']
MALL_WORDS = ['优品', '生活馆', '旗舰店', '专营店', '工厂店', '好物', '严选',
    '百货', '小铺', '官方店']
MALL_CITIES = ['杭州', '义乌', '广州', '深圳', '泉州', '苏州', '成都', '临沂',
    '汕头', '青岛']
SCORES = ['高', '中', '高', '高', '中', '低']
# level-2 ids are made up, in ranges no top-level id uses
CHILD_CAT_BASE = 20000
CHILD_OPT_BASE = 3000
SIGN_ALPHABET = (
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')


def category_trees():
    """(cats, opts): lists of {cat_id, cat_name, level, parent_cat_id} and
    {opt_id, opt_name, level, parent_opt_id}, top level first"""
    cats, opts = [], []
    n = 0
    for name, cat_id, opt_id, _, children in TREE:
        cats.append({'cat_id': cat_id, 'cat_name': name, 'level': 1,
                'parent_cat_id': 0})
        opts.append({'opt_id': opt_id, 'opt_name': name, 'level': 1,
                'parent_opt_id': 0})
    for name, cat_id, opt_id, _, children in TREE:
        for child, _ in children:
            n += 1
            cats.append({'cat_id': CHILD_CAT_BASE + n * 7, 'cat_name': child,
                    'level': 2, 'parent_cat_id': cat_id})
            opts.append({'opt_id': CHILD_OPT_BASE + n * 3, 'opt_name': child,
                    'level': 2, 'parent_opt_id': opt_id})
    return cats, opts


def goods_sign(seed, goods_id):
    "An opaque goods_sign like PDD's ('E9…_J…'), stable per seed and id"
    digest = hashlib.sha256(f'{seed}:{goods_id}'.encode()).digest()
    text = base64.b64encode(digest, altchars=b'xX').decode().rstrip('=')
    text = ''.join(c if c in SIGN_ALPHABET else 'v' for c in text)
    return f'E9{text[:24]}_J{text[24:40]}'


def sales_tip(sales):
    if sales < 10000:
        return str(sales)
    if sales < 100000:
        return f'{sales / 10000:.1f}万+'.replace('.0万', '万')
    return f'{sales // 100000 * 10}万+'


def _image(rng):
    day = f'2023-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}'
    return IMG.format(day=day, name='%032x' % rng.getrandbits(128))


def generate(seed=20231201, count=150, now=None):
    """(goods, meta): goods are the public item dicts (PDD field names),
    meta maps goods_sign to what PDD does not show: goods_id, sales count,
    brand flag, time it joined 多多进宝, gallery."""
    rng = random.Random(seed)
    cats, opts = category_trees()
    children = [(c, o) for c, o in zip(cats, opts) if c['level'] == 2]
    top_by_id = {c['cat_id']: t for c, t in zip(cats, TREE)
        if c['level'] == 1}
    now = int(now if now is not None else 0)
    today = int(dt.datetime.fromtimestamp(now, CHINA).replace(
            hour=0, minute=0, second=0, microsecond=0).timestamp())
    goods, meta, malls = [], {}, {}
    for i in range(count):
        cat, opt = children[i % len(children)]
        top_name, top_cat, top_opt, (low, high), kids = top_by_id[
            cat['parent_cat_id']]
        products = dict(kids)[cat['cat_name']]
        product = products[(i // len(children)) % len(products)]
        goods_id = 100000000000 + rng.randrange(10 ** 11)
        cheap = i % 12 == 6
        brand = not cheap and i % 10 == 3
        brand_name = rng.choice(BRANDS[top_name]) if brand else ''
        name = (f'{rng.choice(PREFIXES)}{brand_name}{product}'
            f'{rng.choice(SUFFIXES)}').strip()

        if cheap:
            # 1.9包邮 material: 券后价 ≤ 190 分 and free shipping
            price = rng.choice([99, 129, 159, 190, 290, 390])
            discount = {290: 100, 390: 200}.get(price, 0)
        else:
            price = rng.randrange(low, high) // 10 * 10 + 9 - 10
            price = max(price, low)
            discount = 0
            if rng.random() < 0.7:
                discount = min(rng.choice([100, 200, 300, 500, 1000, 2000]),
                    price // 2 // 100 * 100)
        has_coupon = discount > 0
        sales = rng.choice([rng.randrange(10, 9999),
                rng.randrange(10000, 99999), rng.randrange(100000, 900000)])
        rate = rng.choice([10, 20, 50, 100, 150, 200, 250, 300, 400])
        if brand:
            rate = max(rate, 150)
        mall_no = rng.randrange(40)
        if mall_no not in malls:
            malls[mall_no] = (
                f'{rng.choice(MALL_CITIES)}{brand_name or ""}'
                f'{rng.choice(MALL_WORDS)}', 900000000 + rng.randrange(
                    10 ** 8), rng.choice([1, 2, 3, 4, 5, 6]))
        mall_name, mall_id, merchant_type = malls[mall_no]
        if brand:
            mall_name, merchant_type = f'{brand_name}官方旗舰店', 3
        service_tags = sorted(set(rng.sample([2, 3, 4, 5, 6, 7, 9, 11, 12, 13],
                        rng.randrange(1, 4)) + [1] * (
                    cheap or rng.random() < 0.6)))
        activity_tags = []
        if brand:
            activity_tags.append(31)
        if rng.random() < 0.1:
            activity_tags.append(7)
        sign = goods_sign(seed, goods_id)
        thumb = _image(rng)
        coupon_start = today - rng.randrange(0, 10) * 86400
        unified = []
        if has_coupon:
            unified.append(f'{discount // 100}元券')
        if 1 in service_tags:
            unified.append('包邮')
        item = {
            'goods_sign': sign,
            'goods_name': name,
            'goods_desc': f'{name}，{top_name}精选好物，品质保证，售后无忧',
            'goods_thumbnail_url': thumb,
            'goods_image_url': thumb.replace('.jpeg', '_800.jpeg'),
            'min_group_price': price,
            'min_normal_price': price + max(100, price // 5 // 10 * 10),
            'has_coupon': has_coupon,
            'coupon_discount': discount,
            'coupon_min_order_amount': (
                discount if has_coupon and rng.random() < 0.5
                else (price // 100 * 100 if has_coupon else 0)),
            'coupon_start_time': coupon_start if has_coupon else 0,
            'coupon_end_time': (coupon_start + rng.choice([7, 15, 30])
                * 86400 - 1) if has_coupon else 0,
            'coupon_total_quantity': 10000 if has_coupon else 0,
            'coupon_remain_quantity': (rng.randrange(100, 10000)
                if has_coupon else 0),
            'promotion_rate': rate,
            'activity_promotion_rate': 0,
            'predict_promotion_rate': rate,
            'sales_tip': sales_tip(sales),
            'mall_id': mall_id,
            'mall_name': mall_name,
            'merchant_type': merchant_type,
            'mall_cps': 1,
            'opt_id': opt['opt_id'],
            'opt_ids': [top_opt, opt['opt_id']],
            'opt_name': opt['opt_name'],
            'cat_ids': [top_cat, cat['cat_id']],
            'category_id': top_cat,
            'category_name': top_name,
            'activity_type': 15 if brand else (21 if cheap else 0),
            'activity_tags': activity_tags,
            'service_tags': service_tags,
            'unified_tags': unified,
            'brand_name': brand_name,
            'desc_txt': rng.choice(SCORES),
            'lgst_txt': rng.choice(SCORES),
            'serv_txt': rng.choice(SCORES),
            'has_mall_coupon': False,
            'plan_type': rng.choice([1, 2, 2, 3]),
            'zs_duo_id': 0,
            'share_rate': 0,
            'extra_coupon_amount': 0,
            'goods_labels': [],
            'only_scene_auth': False,
            }
        goods.append(item)
        meta[sign] = {
            'goods_id': goods_id,
            'sales': sales,
            'is_brand': brand,
            'cheap': cheap,
            'cat_id': cat['cat_id'],
            'category_name': cat['cat_name'],
            # 加入多多进宝时间 (sort 11/12)
            'joined': today - rng.randrange(1, 400) * 86400,
            'rank': rng.random(),
            'gallery': [thumb] + [_image(rng) for _ in range(
                    rng.randrange(2, 5))],
            }
    return goods, meta
