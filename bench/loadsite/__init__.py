"""The load benchmark's own settings and URLs: the site plus a bare insert view.

Never used in production: only ``bench/load.py`` points DJANGO_SETTINGS_MODULE here.
"""
