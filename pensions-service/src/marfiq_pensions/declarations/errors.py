"""Why a declaration is refused whole (problems), and why one of its rows is (row codes)."""

from __future__ import annotations

from enum import StrEnum

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)


class DeclarationNotFound(NotFound):
    """Also what an employer gets for another employer's declaration."""

    code = "declaration-not-found"


class NotADeclaringEmployer(Forbidden):
    """The caller is not a partner client (or agent) of an active employer administration."""

    code = "declaration-not-an-employer"


class WrongEmployer(Forbidden):
    """The declaration names an employer other than the caller's administration."""

    code = "declaration-wrong-employer"


class CsvHeaderInvalid(ValidationFailed):
    code = "declaration-csv-header"


class DeclarationUnreadable(BadRequest):
    """Not UTF-8, not JSON of the expected shape, or no row at all."""

    code = "declaration-unreadable"


class DeclarationEmpty(ValidationFailed):
    code = "declaration-empty"


class TooManyRows(PayloadTooLarge):
    code = "declaration-too-many-rows"


class PeriodInFuture(ValidationFailed):
    code = "declaration-period-in-future"


class PeriodOutOfRange(ValidationFailed):
    code = "declaration-period-out-of-range"


class UnsupportedFormat(UnsupportedMediaType):
    code = "declaration-unsupported-format"


class RowError(StrEnum):
    """Why one row was not accepted; each is a message key of the report."""

    MISSING = "missing-value"
    MALFORMED = "malformed-row"
    TOO_LONG = "value-too-long"
    INVALID_CIN = "invalid-cin"
    INVALID_AFFILIATION_NUMBER = "invalid-affiliation-number"
    INVALID_PERIOD = "invalid-period"
    PERIOD_IN_FUTURE = "period-in-future"
    PERIOD_OUT_OF_RANGE = "period-out-of-range"
    INVALID_DAYS = "invalid-days"
    INVALID_SALARY = "invalid-salary"
    NEGATIVE_SALARY = "negative-salary"
    INVALID_PHONE = "invalid-phone"
    INVALID_BIRTH_DATE = "invalid-birth-date"
    WRONG_EMPLOYER = "wrong-employer"
    DUPLICATE = "duplicate-line"
    UNKNOWN_PERSON = "unknown-person"
    PERSON_MISMATCH = "person-mismatch"
    DECEASED = "affiliate-deceased"
    WRONG_REGIME = "wrong-regime"
    PROCESSING_FAILED = "processing-failed"


ROW_MESSAGES: dict[str, dict[str, str]] = {
    RowError.MISSING: {
        "en": "A required value is missing.",
        "fr": "Une valeur obligatoire est absente.",
        "ar": "قيمة إلزامية مفقودة.",
    },
    RowError.MALFORMED: {
        "en": "The line does not have the columns of the header.",
        "fr": "La ligne n'a pas les colonnes de l'en-tête.",
        "ar": "السطر لا يحتوي على أعمدة الترويسة.",
    },
    RowError.TOO_LONG: {
        "en": "A value is too long.",
        "fr": "Une valeur est trop longue.",
        "ar": "إحدى القيم طويلة جدًا.",
    },
    RowError.INVALID_CIN: {
        "en": "The CIN is not a national identity card number (letters then digits).",
        "fr": "Le numéro de CIN n'est pas valide (lettres puis chiffres).",
        "ar": "رقم البطاقة الوطنية غير صالح (حروف ثم أرقام).",
    },
    RowError.INVALID_AFFILIATION_NUMBER: {
        "en": "The affiliation number must be 6 to 12 digits.",
        "fr": "Le numéro d'affiliation doit compter de 6 à 12 chiffres.",
        "ar": "رقم الانخراط يجب أن يتكون من 6 إلى 12 رقمًا.",
    },
    RowError.INVALID_PERIOD: {
        "en": "The period must be a month, written YYYY-MM.",
        "fr": "La période doit être un mois, au format AAAA-MM.",
        "ar": "يجب أن تكون الفترة شهرًا بصيغة YYYY-MM.",
    },
    RowError.PERIOD_IN_FUTURE: {
        "en": "The period is in the future.",
        "fr": "La période est dans le futur.",
        "ar": "الفترة في المستقبل.",
    },
    RowError.PERIOD_OUT_OF_RANGE: {
        "en": "The period is not the month this declaration is for.",
        "fr": "La période n'est pas le mois de cette déclaration.",
        "ar": "الفترة ليست شهر هذا التصريح.",
    },
    RowError.INVALID_DAYS: {
        "en": "The days worked are not a whole number within the month's limit.",
        "fr": "Les jours travaillés ne sont pas un entier dans la limite du mois.",
        "ar": "أيام العمل ليست عددًا صحيحًا ضمن حد الشهر.",
    },
    RowError.INVALID_SALARY: {
        "en": "The gross salary is not an amount in dirhams with at most two decimals.",
        "fr": "Le salaire brut n'est pas un montant en dirhams à deux décimales au plus.",
        "ar": "الأجر الإجمالي ليس مبلغًا بالدرهم بعشريتين على الأكثر.",
    },
    RowError.NEGATIVE_SALARY: {
        "en": "The gross salary is negative.",
        "fr": "Le salaire brut est négatif.",
        "ar": "الأجر الإجمالي سالب.",
    },
    RowError.INVALID_PHONE: {
        "en": "The phone is not a valid mobile number.",
        "fr": "Le téléphone n'est pas un numéro de mobile valide.",
        "ar": "رقم الهاتف ليس رقم هاتف محمول صالحًا.",
    },
    RowError.INVALID_BIRTH_DATE: {
        "en": "The birth date must be a past date written YYYY-MM-DD.",
        "fr": "La date de naissance doit être une date passée au format AAAA-MM-JJ.",
        "ar": "يجب أن يكون تاريخ الازدياد تاريخًا ماضيًا بصيغة YYYY-MM-DD.",
    },
    RowError.WRONG_EMPLOYER: {
        "en": "The line names another employer than the one declaring.",
        "fr": "La ligne désigne un autre employeur que le déclarant.",
        "ar": "السطر يذكر مشغلًا غير المصرِّح.",
    },
    RowError.DUPLICATE: {
        "en": "This person is already declared on an earlier line.",
        "fr": "Cette personne est déjà déclarée sur une ligne précédente.",
        "ar": "هذا الشخص مصرح به في سطر سابق.",
    },
    RowError.UNKNOWN_PERSON: {
        "en": "No affiliate holds this affiliation number.",
        "fr": "Aucun affilié ne porte ce numéro d'affiliation.",
        "ar": "لا يوجد منخرط بهذا الرقم.",
    },
    RowError.PERSON_MISMATCH: {
        "en": "The affiliation number belongs to someone with another CIN.",
        "fr": "Le numéro d'affiliation appartient à une personne d'une autre CIN.",
        "ar": "رقم الانخراط يعود لشخص برقم بطاقة وطنية مختلف.",
    },
    RowError.DECEASED: {
        "en": "The affiliate is recorded as deceased.",
        "fr": "L'affilié est enregistré comme décédé.",
        "ar": "المنخرط مسجل كمتوفى.",
    },
    RowError.WRONG_REGIME: {
        "en": "The affiliate belongs to another pension regime than this declaration's.",
        "fr": "L'affilié relève d'un autre régime que celui de cette déclaration.",
        "ar": "المنخرط تابع لنظام تقاعد غير نظام هذا التصريح.",
    },
    RowError.PROCESSING_FAILED: {
        "en": "The fund could not process this line.",
        "fr": "La caisse n'a pas pu traiter cette ligne.",
        "ar": "تعذر على الصندوق معالجة هذا السطر.",
    },
}

register_messages(
    {
        DeclarationNotFound.code: {
            "en": "This declaration does not exist or is not yours to see.",
            "fr": "Cette déclaration n'existe pas ou ne vous est pas accessible.",
            "ar": "هذا التصريح غير موجود أو لا يحق لك الاطلاع عليه.",
        },
        NotADeclaringEmployer.code: {
            "en": "Only partner systems of an employer administration in the directory declare.",
            "fr": "Seuls les systèmes partenaires d'un employeur de l'annuaire déclarent.",
            "ar": "التصريح مخصص للأنظمة الشريكة لمشغل مسجل في الدليل.",
        },
        WrongEmployer.code: {
            "en": "You may declare only for your own administration.",
            "fr": "Vous ne pouvez déclarer que pour votre propre administration.",
            "ar": "لا يمكنك التصريح إلا لإدارتك.",
        },
        CsvHeaderInvalid.code: {
            "en": "The CSV header does not have the expected columns.",
            "fr": "L'en-tête CSV n'a pas les colonnes attendues.",
            "ar": "ترويسة ملف CSV لا تحتوي على الأعمدة المطلوبة.",
        },
        DeclarationUnreadable.code: {
            "en": "The declaration cannot be read.",
            "fr": "La déclaration est illisible.",
            "ar": "تعذرت قراءة التصريح.",
        },
        DeclarationEmpty.code: {
            "en": "The declaration has no line.",
            "fr": "La déclaration ne contient aucune ligne.",
            "ar": "التصريح لا يحتوي على أي سطر.",
        },
        TooManyRows.code: {
            "en": "The declaration has too many lines; split it by establishment.",
            "fr": "La déclaration a trop de lignes ; scindez-la par établissement.",
            "ar": "التصريح يحتوي على أسطر كثيرة جدًا؛ قسّمه حسب المؤسسة.",
        },
        PeriodInFuture.code: {
            "en": "A declaration cannot be filed for a month that has not begun.",
            "fr": "On ne peut pas déclarer un mois qui n'a pas commencé.",
            "ar": "لا يمكن التصريح بشهر لم يبدأ بعد.",
        },
        PeriodOutOfRange.code: {
            "en": "This month can no longer be declared here.",
            "fr": "Ce mois ne peut plus être déclaré ici.",
            "ar": "لم يعد بالإمكان التصريح بهذا الشهر هنا.",
        },
        UnsupportedFormat.code: {
            "en": "Send the declaration as application/json or text/csv.",
            "fr": "Envoyez la déclaration en application/json ou text/csv.",
            "ar": "أرسل التصريح بصيغة application/json أو text/csv.",
        },
        **ROW_MESSAGES,
    }
)
