"""The kinds of activity the article names; the admin adds more."""

from __future__ import annotations

# (code, Chinese, English)
KINDS: list[tuple[str, str, str]] = [
    ("opera", "戏曲放映", "Opera screening"),
    ("singing", "红歌大家唱", "Red songs sing-along"),
    ("music", "音乐课堂", "Music class"),
    ("reading", "阅读", "Reading"),
    ("chess", "棋艺", "Chess"),
    ("safety", "安全教育", "Safety education"),
    ("painting", "画画", "Painting"),
    ("calligraphy", "书法", "Calligraphy"),
    ("martial_arts", "武术", "Martial arts"),
    ("cooking", "烹饪", "Cooking"),
    ("drowning", "防溺水", "Drowning prevention"),
    ("fire_safety", "消防", "Fire safety"),
    ("birthday", "长者生日会", "Elders' birthday party"),
    ("parent_child", "亲子有约", "Parent and child"),
    ("health_talk", "健康讲座", "Health talk"),
]
BIRTHDAY = "birthday"
