"""How each locale writes dates, times and table headings (generator side, written apart
from the extractor's tables on purpose)."""

from __future__ import annotations

from datetime import date, time

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
}
WEEKDAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "de": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "es": "lunes martes miércoles jueves viernes sábado domingo",
}
WD_SHORT = {
    "en": "Mon Tue Wed Thu Fri Sat Sun",
    "de": "Mo Di Mi Do Fr Sa So",
    "fr": "lun mar mer jeu ven sam dim",
    "es": "lun mar mié jue vie sáb dom",
}
WORDS = {
    "en": dict(date="Date", time="Kick-off", home="Home", away="Away", venue="Venue",
               term="Term", no_classes="No classes on", postponed="Postponed", tbc="TBC",
               off="off", event="Event", dates="Dates", zone="Time zone", title="Session",
               times="All times", legend="Legend", room="Room", status="Status",
               brk="Coffee break", lunch="Lunch", day="Day", name="Name"),
    "de": dict(date="Datum", time="Anstoß", home="Heim", away="Gast", venue="Ort",
               term="Halbjahr", no_classes="Unterrichtsfrei am", postponed="Verschoben",
               tbc="offen", off="frei", event="Termin", dates="Zeitraum", zone="Zeitzone",
               title="Sitzung", times="Alle Zeiten", legend="Legende", room="Raum",
               status="Status", brk="Kaffeepause", lunch="Mittagessen", day="Tag",
               name="Name"),
    "fr": dict(date="Date", time="Coup d'envoi", home="Domicile", away="Extérieur",
               venue="Stade", term="Semestre", no_classes="Pas de cours le",
               postponed="Reporté", tbc="à confirmer", off="repos", event="Événement",
               dates="Dates", zone="Fuseau", title="Session", times="Heures",
               legend="Légende", room="Salle", status="Statut", brk="Pause café",
               lunch="Déjeuner", day="Jour", name="Nom"),
    "es": dict(date="Fecha", time="Hora", home="Local", away="Visitante", venue="Estadio",
               term="Trimestre", no_classes="Sin clases el", postponed="Aplazado",
               tbc="por confirmar", off="libre", event="Evento", dates="Fechas",
               zone="Zona horaria", title="Sesión", times="Horario", legend="Leyenda",
               room="Sala", status="Estado", brk="Pausa café", lunch="Almuerzo", day="Día",
               name="Nombre"),
}  # fmt: skip


def month(loc: str, m: int) -> str:
    return MONTHS[loc].split()[m - 1]


def weekday(loc: str, d: date, short: bool = False) -> str:
    return (WD_SHORT if short else WEEKDAYS)[loc].split()[d.weekday()]


def long_date(loc: str, d: date, weekday_too: bool = True, year: bool = True) -> str:
    wd = weekday(loc, d) if weekday_too else ""
    y = f" {d.year}" if year else ""
    if loc == "en":
        return f"{wd + ' ' if wd else ''}{d.day} {month(loc, d.month)}{y}"
    if loc == "de":
        return f"{wd + ', ' if wd else ''}{d.day}. {month(loc, d.month)}{y}"
    if loc == "fr":
        day = "1er" if d.day == 1 else str(d.day)
        return f"{wd + ' ' if wd else ''}{day} {month(loc, d.month)}{y}"
    y = f" de {d.year}" if year else ""
    return f"{wd + ', ' if wd else ''}{d.day} de {month(loc, d.month)}{y}"


def us_date(d: date, weekday_too: bool = True) -> str:
    wd = weekday("en", d, short=True) + ", " if weekday_too else ""
    return f"{wd}{month('en', d.month)} {d.day}, {d.year}"


def numeric_date(loc: str, d: date, mdy: bool = False) -> str:
    if mdy:
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    if loc == "de":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def clock(loc: str, t: time, style: int = 0) -> str:
    """``style`` picks among the locale's usual forms."""
    if loc == "en":
        if style == 1:
            h = t.hour % 12 or 12
            suffix = "a.m." if t.hour < 12 else "p.m."
            if t.hour == 12 and t.minute == 0:
                return "noon"
            return f"{h}:{t.minute:02d} {suffix}" if t.minute else f"{h} {suffix}"
        return f"{t.hour:02d}:{t.minute:02d}"
    if loc == "de":
        if style == 1 and t.minute == 0:
            return f"{t.hour} Uhr"
        return f"{t.hour:02d}:{t.minute:02d}" + (" Uhr" if style == 1 else "")
    if loc == "fr":
        return f"{t.hour}h{t.minute:02d}" if t.minute or style == 0 else f"{t.hour}h"
    return f"{t.hour:02d}:{t.minute:02d}" if style == 0 else f"{t.hour}.{t.minute:02d} h"
