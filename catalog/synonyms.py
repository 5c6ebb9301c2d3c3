"""Words buyers type for each domain of the taxonomy, in the languages the catalogue's vertical
data is sold in (English, Chinese, Japanese, Korean, German, French, Spanish). A dataset is
indexed with the words of its domain, so "medical", "clinical" or 医疗 find healthcare data even
when its own text never says so. Words only: the index's stemmer and tokenizer apply to them as
to any other text. A frozen, reviewed list; extend it here."""

from __future__ import annotations

DOMAIN_WORDS: dict[str, tuple[str, ...]] = {
    "healthcare": ("healthcare", "health", "medical", "medicine", "clinical", "clinic", "hospital", "patient", "patients", "radiology",
                   "医疗", "医学", "健康", "临床", "医院", "医療", "病院", "의료", "의학", "병원", "medizin", "médical", "médico"),
    "finance": ("finance", "financial", "banking", "bank", "trading", "market", "markets", "insurance", "accounting",
                "金融", "财务", "银行", "証券", "銀行", "금융", "은행", "finanz", "financier", "finanzas"),
    "legal": ("legal", "law", "laws", "contract", "contracts", "court", "courts", "litigation", "regulation", "compliance",
              "法律", "合同", "法院", "法務", "契約", "법률", "계약", "recht", "juridique", "jurídico"),
    "speech-audio": ("speech", "audio", "voice", "spoken", "asr", "transcription", "podcast", "语音", "音频", "音声", "음성", "sprache", "parole", "voz"),
    "autonomous-driving": ("driving", "autonomous", "vehicle", "vehicles", "lidar", "self-driving", "automotive", "traffic",
                           "自动驾驶", "驾驶", "車両", "自動運転", "자율주행", "fahren", "conduite", "conducción"),
    "e-commerce": ("ecommerce", "e-commerce", "retail", "shopping", "product", "products", "catalog", "catalogue", "电商", "零售", "通販", "전자상거래"),
    "education": ("education", "educational", "learning", "school", "student", "students", "exam", "教育", "学习", "学校", "교육", "bildung", "éducation", "educación"),
    "government": ("government", "public", "civic", "census", "政府", "政务", "行政", "정부", "regierung", "gouvernement", "gobierno"),
    "manufacturing": ("manufacturing", "industrial", "factory", "production", "machinery", "制造", "工业", "製造", "제조", "fertigung", "fabrication"),
    "science": ("science", "scientific", "research", "physics", "chemistry", "biology", "科学", "科研", "研究", "과학", "wissenschaft"),
    "code": ("code", "software", "programming", "source", "developer", "代码", "编程", "コード", "코드"),
    "general": ("general",),
}


def domain_words(slug: str | None) -> str:
    """The words a dataset of this domain is also found by (empty for an unknown domain)."""
    return " ".join(DOMAIN_WORDS.get(slug or "", ()))
