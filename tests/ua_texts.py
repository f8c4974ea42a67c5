"""Urgent Action texts written for the tests, in the 2012 print layout (invented people and numbers)."""

from __future__ import annotations

import datetime as dt


def english_date(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%B %Y').upper()}"


def new_case(deadline: dt.date, bullet: str = "\u25aa") -> str:
    """A new appeal: UA 201/26, letters asked for in Spanish, two officials and one copy."""
    return f"""URGENT ACTION
JOURNALIST HELD WITHOUT CHARGE
Ana Lucía Torres, a journalist, was arrested at her home on 2 March and has been held without charge
since. She has not been allowed to see her lawyer or her family, and is at risk of ill-treatment.

Ana Lucía Torres reported on land disputes in the north of the country for ten years. Police officers
came to her home at night and took her away without a warrant. Her family were told nothing.

PLEASE WRITE IMMEDIATELY in Spanish or your own language:
{bullet} Calling on the authorities to release Ana Lucía Torres immediately and unconditionally;
{bullet} Urging them to ensure she is not tortured or otherwise ill-treated while in detention.

PLEASE SEND APPEALS BEFORE {english_date(deadline)} TO:
Attorney General
Marta Elena Ruiz
Avenida Central 100
Ciudad Capital 01001
Fax: +502 2411 9124
Email: fiscal.general@example.org
Salutation: Dear Attorney General

Minister of the Interior
Jorge Alberto Pineda
Calle 5, Número 12
Ciudad Capital 01002
Fax: +502 2413 8888
Email: despacho@example.net
Salutation: Dear Minister

And copies to:
Human Rights Ombudsman
Lucía Beatriz Gómez
Avenida Reforma 8
Ciudad Capital 01003
Email: defensoria@example.org

Please check with your section office if sending appeals after the above date.

URGENT ACTION
JOURNALIST HELD WITHOUT CHARGE
ADDITIONAL INFORMATION
Journalists who cover land disputes have been threatened and attacked in recent years.

Name: Ana Lucía Torres
Gender m/f: f

UA: 201/26 Index: AMR 34/001/2026 Issue Date: 5 March 2026
"""


def update_of_ua_84_11(number: str, deadline: dt.date, *, closing: bool = False) -> str:
    """A later update of UA 84/11, the case the shipped content already has (at update 2)."""
    ending = (
        "No further action is requested."
        if closing
        else (
            f"PLEASE SEND APPEALS BEFORE {english_date(deadline)} TO:\nProsecutor General\nYurii Ya. Chaika\n"
            "Bolshaia Dmitrovka 15 A\nMoscow\nFax: +7 495 987 58 41\nSalutation: Dear Prosecutor General\n"
        )
    )
    return f"""URGENT ACTION
TAJIK ASYLUM SEEKER STILL MISSING
Nizomkhon Juraev has still not been seen since his release from detention on 29 March. His lawyer has
asked the Prosecutor General to open a criminal investigation into his disappearance.

PLEASE WRITE IMMEDIATELY in Russian or your own language:
\u25aa Urge the Russian authorities to clarify the whereabouts of Nizomkhon Juraev.

{ending}
This is the {number} update of UA 84/11. Further information:
http://www.amnesty.org/en/library/info/EUR46/020/2011/en
"""
