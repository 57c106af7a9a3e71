# ruff: noqa: E501  (a data table: one administration a line reads better than wrapped)
"""The initial directory: Moroccan ministries, directorates, public establishments, communes.

Applied idempotently by `seed_administrations` (the launcher and `marfiq seed` call it):
an entry whose code exists is left alone, a new one is created and announced with
`identity.administration.created`, like any other creation. Ids are derived from the codes,
so every environment seeded from scratch names an administration by the same id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.administrations import repository, service
from marfiq_identity.administrations.models import AdministrationKind as Kind
from marfiq_identity.administrations.schemas import AdministrationCreate
from marfiq_shared.db import Database

SEED_NAMESPACE = uuid.UUID("0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60")


@dataclass(frozen=True, slots=True)
class SeedEntry:
    code: str
    name_fr: str
    name_ar: str
    kind: Kind
    parent: str | None = None  # code of the supervising administration (tutelle)


def seed_id(code: str) -> uuid.UUID:
    """The id a seeded administration gets, from its code."""
    return uuid.uuid5(SEED_NAMESPACE, code)


# Parents come before their units.
SEED: tuple[SeedEntry, ...] = (
    # Ministries (government formed in 2021, as reshaped in 2024).
    SeedEntry(
        "MEF", "Ministère de l'Économie et des Finances", "وزارة الاقتصاد والمالية", Kind.ministry
    ),
    SeedEntry("MI", "Ministère de l'Intérieur", "وزارة الداخلية", Kind.ministry),
    SeedEntry(
        "MSPS",
        "Ministère de la Santé et de la Protection Sociale",
        "وزارة الصحة والحماية الاجتماعية",
        Kind.ministry,
    ),
    SeedEntry(
        "MENPS",
        "Ministère de l'Éducation Nationale, du Préscolaire et des Sports",
        "وزارة التربية الوطنية والتعليم الأولي والرياضة",
        Kind.ministry,
    ),
    SeedEntry(
        "MESRSI",
        "Ministère de l'Enseignement Supérieur, de la Recherche Scientifique et de l'Innovation",
        "وزارة التعليم العالي والبحث العلمي والابتكار",
        Kind.ministry,
    ),
    SeedEntry("MJ", "Ministère de la Justice", "وزارة العدل", Kind.ministry),
    SeedEntry(
        "MEE", "Ministère de l'Équipement et de l'Eau", "وزارة التجهيز والماء", Kind.ministry
    ),
    SeedEntry(
        "MTL", "Ministère du Transport et de la Logistique", "وزارة النقل واللوجستيك", Kind.ministry
    ),
    SeedEntry(
        "MAPMDREF",
        "Ministère de l'Agriculture, de la Pêche Maritime, du Développement Rural et des Eaux et Forêts",
        "وزارة الفلاحة والصيد البحري والتنمية القروية والمياه والغابات",
        Kind.ministry,
    ),
    SeedEntry(
        "MTNRA",
        "Ministère de la Transition Numérique et de la Réforme de l'Administration",
        "وزارة الانتقال الرقمي وإصلاح الإدارة",
        Kind.ministry,
    ),
    SeedEntry(
        "MAECAMRE",
        "Ministère des Affaires Étrangères, de la Coopération Africaine et des Marocains Résidant à l'Étranger",
        "وزارة الشؤون الخارجية والتعاون الإفريقي والمغاربة المقيمين بالخارج",
        Kind.ministry,
    ),
    SeedEntry(
        "MIEPEEC",
        "Ministère de l'Inclusion Économique, de la Petite Entreprise, de l'Emploi et des Compétences",
        "وزارة الإدماج الاقتصادي والمقاولة الصغرى والتشغيل والكفاءات",
        Kind.ministry,
    ),
    SeedEntry(
        "MATNUHPV",
        "Ministère de l'Aménagement du Territoire National, de l'Urbanisme, de l'Habitat et de la Politique de la Ville",
        "وزارة إعداد التراب الوطني والتعمير والإسكان وسياسة المدينة",
        Kind.ministry,
    ),
    SeedEntry(
        "MTEDD",
        "Ministère de la Transition Énergétique et du Développement Durable",
        "وزارة الانتقال الطاقي والتنمية المستدامة",
        Kind.ministry,
    ),
    # Directorates with their own counters.
    SeedEntry(
        "DGI", "Direction Générale des Impôts", "المديرية العامة للضرائب", Kind.directorate, "MEF"
    ),
    SeedEntry(
        "ADII",
        "Administration des Douanes et Impôts Indirects",
        "إدارة الجمارك والضرائب غير المباشرة",
        Kind.directorate,
        "MEF",
    ),
    SeedEntry(
        "TGR", "Trésorerie Générale du Royaume", "الخزينة العامة للمملكة", Kind.directorate, "MEF"
    ),
    SeedEntry(
        "DGSN",
        "Direction Générale de la Sûreté Nationale",
        "المديرية العامة للأمن الوطني",
        Kind.directorate,
        "MI",
    ),
    # Public establishments, under their supervising ministry.
    SeedEntry(
        "CMR",
        "Caisse Marocaine des Retraites",
        "الصندوق المغربي للتقاعد",
        Kind.public_establishment,
        "MEF",
    ),
    SeedEntry(
        "CNSS",
        "Caisse Nationale de Sécurité Sociale",
        "الصندوق الوطني للضمان الاجتماعي",
        Kind.public_establishment,
        "MIEPEEC",
    ),
    SeedEntry(
        "RCAR",
        "Régime Collectif d'Allocation de Retraite",
        "النظام الجماعي لمنح رواتب التقاعد",
        Kind.public_establishment,
        "MEF",
    ),
    SeedEntry(
        "ANCFCC",
        "Agence Nationale de la Conservation Foncière, du Cadastre et de la Cartographie",
        "الوكالة الوطنية للمحافظة العقارية والمسح العقاري والخرائطية",
        Kind.public_establishment,
        "MATNUHPV",
    ),
    SeedEntry(
        "ONEE",
        "Office National de l'Électricité et de l'Eau Potable",
        "المكتب الوطني للكهرباء والماء الصالح للشرب",
        Kind.public_establishment,
        "MTEDD",
    ),
    SeedEntry(
        "ANAPEC",
        "Agence Nationale de Promotion de l'Emploi et des Compétences",
        "الوكالة الوطنية لإنعاش التشغيل والكفاءات",
        Kind.public_establishment,
        "MIEPEEC",
    ),
    SeedEntry(
        "OFPPT",
        "Office de la Formation Professionnelle et de la Promotion du Travail",
        "مكتب التكوين المهني وإنعاش الشغل",
        Kind.public_establishment,
        "MIEPEEC",
    ),
    SeedEntry(
        "ADD",
        "Agence de Développement du Digital",
        "وكالة التنمية الرقمية",
        Kind.public_establishment,
        "MTNRA",
    ),
    # Communes.
    SeedEntry("COM-RABAT", "Commune de Rabat", "جماعة الرباط", Kind.commune),
    SeedEntry("COM-CASABLANCA", "Commune de Casablanca", "جماعة الدار البيضاء", Kind.commune),
    SeedEntry("COM-FES", "Commune de Fès", "جماعة فاس", Kind.commune),
    SeedEntry("COM-MARRAKECH", "Commune de Marrakech", "جماعة مراكش", Kind.commune),
    SeedEntry("COM-TANGER", "Commune de Tanger", "جماعة طنجة", Kind.commune),
    SeedEntry("COM-AGADIR", "Commune d'Agadir", "جماعة أكادير", Kind.commune),
)


async def seed_administrations(session: AsyncSession) -> int:
    """Add the seed entries that are missing, in the caller's transaction; return how many."""
    created = 0
    for entry in SEED:
        parent_id = await repository.id_by_code(session, entry.parent) if entry.parent else None
        added = await service.add_if_absent(
            session,
            data=AdministrationCreate(
                code=entry.code,
                name_ar=entry.name_ar,
                name_fr=entry.name_fr,
                kind=entry.kind,
                parent_id=parent_id,
            ),
            administration_id=seed_id(entry.code),
        )
        created += added is not None
    return created


async def seed_directory(database_url: str) -> int:
    """Seed a database by URL in one transaction (launcher, `marfiq seed`); return the count."""
    from marfiq_identity.db import SCHEMA, outbox

    database = Database(
        database_url, schema=SCHEMA, source="identity-service", outbox=outbox, pool_size=1
    )
    try:
        async with database.sessionmaker() as session, session.begin():
            return await seed_administrations(session)
    finally:
        await database.dispose()
