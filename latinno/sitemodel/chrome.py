# ruff: noqa: E501  (HTML template lines are kept whole, as a theme emits them)
"""WordPress-like chrome around a case: head, header menus, sidebar, footer, scripts.

Deterministic: everything that varies between pages is derived from the case id. Page sizes are
brought into the 15-45 KB range of real pages by an inline stylesheet, as themes emit.
"""

from __future__ import annotations

import json
import random

_LANG_NAMES = (("en", "English"), ("es", "Español"), ("pt", "Português"))
_MENU = {
    "en": ("Home", "About", "Countries", "Data", "Publications", "Blog", "Contact", "Search"),
    "es": ("Inicio", "Acerca de", "Países", "Datos", "Publicaciones", "Blog", "Contacto", "Buscar"),
    "pt": ("Início", "Sobre", "Países", "Dados", "Publicações", "Blog", "Contato", "Buscar"),
}
_ABOUT = ("Project", "Team", "Methodology", "Advisory board", "Partners")
_LATEST = (
    "Neighbourhood Assemblies",
    "Online Consultation on the National Development Plan",
    "Community Health Committees",
    "Youth Participatory Budget",
    "Women's Councils",
    "Environmental Monitoring Committees",
    "Public Policy Conferences",
    "Digital Petition Platform",
    "Indigenous Consultation Protocol",
    "Citizen Security Roundtables",
)
_PREFIXES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19)

_STYLESHEETS = (
    "wp-includes/css/dist/block-library/style.min.css?ver=5.4.2",
    "wp-content/plugins/contact-form-7/includes/css/styles.css?ver=5.1.9",
    "wp-content/plugins/polylang/css/front.min.css?ver=2.7.3",
    "wp-content/themes/latinno/css/bootstrap.min.css?ver=3.3.7",
    "wp-content/themes/latinno/css/font-awesome.min.css?ver=4.7.0",
    "wp-content/themes/latinno/style.css?ver=1.4.1",
    "wp-content/themes/latinno/css/case.css?ver=1.4.1",
)
_SCRIPTS = (
    "wp-includes/js/jquery/jquery.js?ver=1.12.4-wp",
    "wp-includes/js/jquery/jquery-migrate.min.js?ver=1.4.1",
    "wp-content/themes/latinno/js/bootstrap.min.js?ver=3.3.7",
    "wp-content/themes/latinno/js/case-icons.js?ver=1.4.1",
    "wp-content/plugins/contact-form-7/includes/js/scripts.js?ver=5.1.9",
    "wp-includes/js/wp-embed.min.js?ver=5.4.2",
)

_EMOJI = (
    "window._wpemojiSettings = {settings};\n"
    '!function(e,a,t){{var r,n,o,i,p=a.createElement("canvas"),s=p.getContext&&p.getContext("2d");'
    "function c(e,t){{var a=String.fromCharCode;s.clearRect(0,0,p.width,p.height),"
    "s.fillText(a.apply(this,e),0,0);var r=p.toDataURL();return s.clearRect(0,0,p.width,p.height),"
    "s.fillText(a.apply(this,t),0,0),r===p.toDataURL()}}function l(e){{if(!s||!s.fillText)return!1;"
    'switch(s.textBaseline="top",s.font="600 32px Arial",e){{case"flag":return!c([127987,65039,'
    "8205,9895,65039],[127987,65039,8203,9895,65039])&&(!c([55356,56826,55356,56819],[55356,56826,8203,"
    '55356,56819])&&!c([55356,57332,56128,56423],[55356,57332,8203,56128,56423]));case"emoji":return!c('
    "[55357,56424,8205,55356,57212],[55357,56424,8203,55356,57212])}}return!1}}function d(e){{var t=a."
    'createElement("script");t.src=e,t.defer=t.type="text/javascript",a.getElementsByTagName("head")'
    '[0].appendChild(t)}}for(i=Array("flag","emoji"),t.supports={{everything:!0,everythingExceptFlag:!0}},'
    "o=0;o<i.length;o++)t.supports[i[o]]=l(i[o]),t.supports.everything=t.supports.everything&&t.supports"
    '[i[o]],"flag"!==i[o]&&(t.supports.everythingExceptFlag=t.supports.everythingExceptFlag&&t.supports'
    "[i[o]]);t.supports.everythingExceptFlag=t.supports.everythingExceptFlag&&!t.supports.flag,t."
    "DOMReady=!1,t.readyCallback=function(){{t.DOMReady=!0}},t.supports.everything||(n=function(){{t."
    'readyCallback()}},a.addEventListener?(a.addEventListener("DOMContentLoaded",n,!1),e.'
    'addEventListener("load",n,!1)):(e.attachEvent("onload",n),a.attachEvent("onreadystatechange",'
    'function(){{"complete"===a.readyState&&t.readyCallback()}})),(r=t.source||{{}}).concatemoji?d(r.'
    "concatemoji):r.wpemoji&&r.twemoji&&(d(r.twemoji),d(r.wpemoji)))}}(window,document,window._wpemojiSettings);"
)

_ANALYTICS = (
    "(function(i,s,o,g,r,a,m){{i['GoogleAnalyticsObject']=r;i[r]=i[r]||function(){{"
    "(i[r].q=i[r].q||[]).push(arguments)}},i[r].l=1*new Date();a=s.createElement(o),"
    "m=s.getElementsByTagName(o)[0];a.async=1;a.src=g;m.parentNode.insertBefore(a,m)"
    "}})(window,document,'script','https://www.google-analytics.com/analytics.js','ga');\n"
    "ga('create', 'UA-{ua}-1', 'auto');\nga('set', 'anonymizeIp', true);\nga('send', 'pageview');"
)

# The theme's own script toggling the help panel and marking icons; mentions "active" on purpose.
_THEME_JS = """jQuery(function ($) {
  $('.help-toggle').on('click', function (e) {
    e.preventDefault();
    $(this).closest('section, div').find('.help-panel').slideToggle(150);
  });
  $('.options li, .options td, .options div').each(function () {
    var on = $(this).hasClass('active') || $(this).find('.active').length > 0;
    $(this).attr('aria-checked', on ? 'true' : 'false');
  });
});"""


def _css_rules(rng: random.Random, size: int) -> str:
    """Inline theme CSS of about ``size`` characters (block-library and customizer rules)."""
    selectors = (
        ".wp-block-button__link",
        ".has-text-color",
        ".entry-content p",
        ".case-design dt",
        ".case-design dd",
        ".options li",
        ".options .active img",
        ".site-header .menu-item a",
        ".widget-title",
        ".site-footer",
        ".lang-item a",
        ".help-panel p",
        ".sources-list a",
        ".means-ends td",
        ".policy-cycle-list td",
        ".btn-help",
    )
    props = (
        "color:#{:06x}",
        "background-color:#{:06x}",
        "margin:{}px 0",
        "padding:{}px",
        "font-size:{}px",
        "line-height:1.{}",
        "border-bottom:1px solid #{:06x}",
        "opacity:.{}",
    )
    out, length = [], 0
    while length < size:
        selector = rng.choice(selectors)
        media = rng.random() < 0.15
        decls = ";".join(
            p.format(rng.randint(1, 0xFFFFFF) if "#" in p else rng.randint(1, 40))
            for p in rng.sample(props, rng.randint(2, 5))
        )
        rule = f"{selector}.v{rng.randint(1, 999)}{{{decls}}}"
        if media:
            rule = f"@media (max-width:{rng.choice((480, 768, 992))}px){{{rule}}}"
        out.append(rule)
        length += len(rule) + 1
    return "\n".join(out)


def _head(lang: str, case_id: int, title: str, charset: str, canonical: str, json_ld: str) -> str:
    if charset == "windows-1252":
        meta = '<meta charset="windows-1252">'
    elif case_id % 2:
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
    else:
        meta = '<meta charset="UTF-8">'
    base = "https://latinno.net/"
    sheets = "\n".join(
        f"<link rel='stylesheet' id='css-{i}' href='{base}{href}' type='text/css' media='all' />"
        for i, href in enumerate(_STYLESHEETS)
    )
    alternates = "\n".join(
        f'<link rel="alternate" href="{base}{code}/case/{case_id}/" hreflang="{code}" />'
        for code, _ in _LANG_NAMES
    )
    emoji = _EMOJI.format(
        settings=json.dumps(
            {
                "baseUrl": "https://s.w.org/images/core/emoji/12.0.0-1/72x72/",
                "ext": ".png",
                "svgUrl": "https://s.w.org/images/core/emoji/12.0.0-1/svg/",
                "svgExt": ".svg",
                "source": {
                    "concatemoji": f"{base}wp-includes/js/wp-emoji-release.min.js?ver=5.4.2"
                },
            }
        )
    )
    return f"""<head>
{meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="profile" href="https://gmpg.org/xfn/11">
<title>{title} &#8211; LATINNO</title>
<link rel="canonical" href="{canonical}" />
{alternates}
<link rel='dns-prefetch' href='//fonts.googleapis.com' />
<link rel='dns-prefetch' href='//s.w.org' />
<link rel="alternate" type="application/rss+xml" title="LATINNO &raquo; Feed" href="{base}{lang}/feed/" />
<script type="text/javascript">
{emoji}
</script>
<style type="text/css">
img.wp-smiley, img.emoji {{ display: inline !important; border: none !important; box-shadow: none !important;
height: 1em !important; width: 1em !important; margin: 0 .07em !important; vertical-align: -0.1em !important;
background: none !important; padding: 0 !important; }}
</style>
{sheets}
<link rel='stylesheet' id='google-fonts-css' href='https://fonts.googleapis.com/css?family=Lato%3A300%2C400%2C700&#038;ver=5.4.2' type='text/css' media='all' />
<script type="application/ld+json">{json_ld}</script>
<link rel='https://api.w.org/' href='{base}wp-json/' />
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="{base}xmlrpc.php?rsd" />
<link rel='shortlink' href='{base}?p={case_id + 40000}' />
<script>
{_ANALYTICS.format(ua=48213000 + case_id % 7)}
</script>
</head>"""


def _header(lang: str, case_id: int, countries: list[tuple[str, str]]) -> str:
    base = "https://latinno.net/"
    labels = _MENU[lang]
    country_items = "\n".join(
        f'<li class="menu-item menu-item-type-post_type menu-item-country-{slug}">'
        f'<a href="{base}{lang}/country/{slug}/">{name}</a></li>'
        for slug, name in countries
    )
    about_items = "\n".join(
        f'<li class="menu-item"><a href="{base}{lang}/about/{item.lower().replace(" ", "-")}/">'
        f"{item}</a></li>"
        for item in _ABOUT
    )
    switcher = "\n".join(
        f'<li class="lang-item lang-item-{code}{" current-lang" if code == lang else ""}">'
        f'<a lang="{code}" hreflang="{code}" href="{base}{code}/case/{case_id}/">{name}</a></li>'
        for code, name in _LANG_NAMES
    )
    home, about, countries_label, data, pubs, blog, contact, search = labels
    return f"""<a class="skip-link screen-reader-text" href="#main">Skip to content</a>
<header id="masthead" class="site-header navbar navbar-default" role="banner">
<div class="container">
<div class="site-branding navbar-header">
<button type="button" class="navbar-toggle collapsed" data-toggle="collapse" data-target="#primary-menu">
<span class="sr-only">Toggle navigation</span><span class="icon-bar"></span><span class="icon-bar"></span><span class="icon-bar"></span>
</button>
<a class="navbar-brand" href="{base}{lang}/" rel="home"><img src="{base}wp-content/themes/latinno/img/latinno-logo.svg" alt="LATINNO" width="180" height="48"></a>
<p class="site-description">Innovations for Democracy in Latin America</p>
</div>
<nav id="site-navigation" class="main-navigation collapse navbar-collapse" role="navigation">
<ul id="primary-menu" class="nav navbar-nav menu">
<li class="menu-item menu-item-home"><a href="{base}{lang}/">{home}</a></li>
<li class="menu-item menu-item-has-children dropdown"><a href="{base}{lang}/about/" class="dropdown-toggle">{about}</a>
<ul class="sub-menu dropdown-menu">
{about_items}
</ul>
</li>
<li class="menu-item menu-item-has-children dropdown current-menu-ancestor active"><a href="{base}{lang}/countries/" class="dropdown-toggle">{countries_label}</a>
<ul class="sub-menu dropdown-menu countries-menu">
{country_items}
</ul>
</li>
<li class="menu-item"><a href="{base}{lang}/data/">{data}</a></li>
<li class="menu-item"><a href="{base}{lang}/publications/">{pubs}</a></li>
<li class="menu-item"><a href="{base}{lang}/blog/">{blog}</a></li>
<li class="menu-item"><a href="{base}{lang}/contact/">{contact}</a></li>
</ul>
<ul class="nav navbar-nav navbar-right lang-switcher">
{switcher}
</ul>
<form role="search" method="get" class="navbar-form search-form" action="{base}{lang}/">
<label><span class="screen-reader-text">{search}</span><input type="search" class="search-field" placeholder="{search} &hellip;" value="" name="s" /></label>
</form>
</nav>
</div>
</header>"""


def _sidebar(lang: str, case_id: int, rng: random.Random) -> str:
    base = "https://latinno.net/"
    latest = []
    for title in rng.sample(_LATEST, 6):
        prefix = rng.choice(_PREFIXES)
        other = prefix * 1000 + rng.randint(1, 300)
        latest.append(f'<li><a href="{base}{lang}/case/{other}/">{title}</a></li>')
    years = "\n".join(
        f'<li class="cat-item"><a href="{base}{lang}/{year}/">{year}</a> ({rng.randint(2, 30)})</li>'
        for year in range(2020, 2014, -1)
    )
    tags = " ".join(
        f'<a href="{base}{lang}/tag/{t}/" class="tag-cloud-link" style="font-size: {rng.randint(8, 22)}pt;">{t}</a>'
        for t in (
            "accountability",
            "budget",
            "councils",
            "digital",
            "elections",
            "health",
            "indigenous",
            "municipal",
            "referendum",
            "transparency",
            "youth",
        )
    )
    return f"""<aside id="secondary" class="widget-area sidebar col-md-3" role="complementary">
<section id="search-3" class="widget widget_search"><h4 class="widget-title">Search the database</h4>
<form role="search" method="get" class="search-form" action="{base}{lang}/"><input type="search" name="s" class="search-field" /><button type="submit" class="search-submit">Go</button></form>
</section>
<section id="recent-cases-2" class="widget widget_recent_entries"><h4 class="widget-title">Latest cases</h4>
<ul>
{chr(10).join(latest)}
</ul>
</section>
<section id="archives-2" class="widget widget_archive"><h4 class="widget-title">Archives</h4>
<ul>
{years}
</ul>
</section>
<section id="tag_cloud-2" class="widget widget_tag_cloud"><h4 class="widget-title">Tags</h4>
<div class="tagcloud">{tags}</div>
</section>
<section id="text-4" class="widget widget_text"><h4 class="widget-title">Newsletter</h4>
<div class="textwidget"><p>Subscribe to receive news about democratic innovations in Latin America.</p>
<form class="wpcf7-form" action="{base}{lang}/newsletter/" method="post"><input type="email" name="your-email" size="30" /><input type="submit" value="Subscribe" /></form></div>
</section>
</aside>"""


def _footer(lang: str, case_id: int) -> str:
    base = "https://latinno.net/"
    scripts = "\n".join(
        f"<script type='text/javascript' src='{base}{src}'></script>" for src in _SCRIPTS
    )
    wpcf7 = json.dumps(
        {
            "apiSettings": {
                "root": f"{base}wp-json/contact-form-7/v1",
                "namespace": "contact-form-7/v1",
            },
            "cached": "1",
        }
    )
    config = json.dumps(
        {
            "ajaxurl": f"{base}wp-admin/admin-ajax.php",
            "lang": lang,
            "caseId": case_id,
            "iconClasses": {"on": "active", "off": "inactive"},
            "labels": {"help": "?", "close": "x"},
        },
        sort_keys=True,
    )
    return f"""<footer id="colophon" class="site-footer" role="contentinfo">
<div class="container">
<div class="row">
<div class="col-md-4 footer-about">
<h5>LATINNO</h5>
<p>LATINNO is a project of the WZB Berlin Social Science Center. It maps and analyses democratic
innovations in eighteen countries of Latin America since 1990.</p>
</div>
<div class="col-md-4 footer-contact">
<h5>Contact</h5>
<p>WZB Berlin Social Science Center<br>Reichpietschufer 50<br>10785 Berlin, Germany</p>
<p><a href="mailto:latinno@example.org">latinno@example.org</a></p>
</div>
<div class="col-md-4 footer-social">
<h5>Follow us</h5>
<ul class="social">
<li><a href="https://twitter.com/example" title="Twitter"><i class="fa fa-twitter"></i></a></li>
<li><a href="https://www.facebook.com/example" title="Facebook"><i class="fa fa-facebook"></i></a></li>
</ul>
</div>
</div>
<div class="site-info">&copy; 2017&ndash;2020 LATINNO &middot; <a href="{base}{lang}/imprint/">Imprint</a> &middot; <a href="{base}{lang}/privacy/">Privacy</a></div>
</div>
</footer>
<script type='text/javascript'>
/* <![CDATA[ */
var wpcf7 = {wpcf7};
var latinnoConfig = {config};
/* ]]> */
</script>
{scripts}
<script type="text/javascript">
{_THEME_JS}
</script>"""


def page(
    *,
    lang: str,
    case_id: int,
    title: str,
    charset: str,
    canonical: str,
    countries: list[tuple[str, str]],
    content: str,
    json_ld: str,
) -> str:
    """The full document around ``content``; padded to a size chosen from the case id."""
    rng = random.Random(case_id * 31 + len(lang))
    html_lang = {"en": "en-US", "es": "es-ES", "pt": "pt-BR"}[lang]
    head = _head(lang, case_id, title, charset, canonical, json_ld)
    body = (
        f'<body class="case-template-default single single-case postid-{case_id + 40000} '
        f'lang-{lang}">\n<div id="page" class="site">\n{_header(lang, case_id, countries)}\n'
        f'<div class="container site-body">\n<div class="row">\n<div class="col-md-9">\n{content}\n'
        f"</div>\n{_sidebar(lang, case_id, rng)}\n</div>\n</div>\n{_footer(lang, case_id)}\n"
        "</div>\n</body>\n</html>\n"
    )
    target = 16_500 + (case_id * 7919 + len(lang) * 131) % 24_000
    filler = max(0, target - len(head) - len(body) - 200)
    style = f'<style id="latinno-inline-css" type="text/css">\n{_css_rules(rng, filler)}\n</style>'
    head = head.replace("</head>", f"{style}\n</head>")
    return f'<!DOCTYPE html>\n<html lang="{html_lang}" class="no-js">\n{head}\n{body}'
