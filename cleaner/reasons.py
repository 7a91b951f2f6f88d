"""Reason codes: why a paragraph or a document was removed."""

from __future__ import annotations

# Boilerplate, decided per paragraph from patterns, features and context.
ADVERTISEMENT = "advertisement"
SUBSCRIPTION = "subscription-pitch"
COMMENT_PROMPT = "comment-prompt"
TEASER = "teaser-sidebar"
SOCIAL = "social-embed"
NEWSLETTER = "newsletter-prompt"
COOKIE = "cookie-notice"
SHARE = "share-prompt"
NAVIGATION = "navigation"
LEGAL = "legal-footer"
LOW_CONTENT = "low-content"
TAIL_BLOCK = "boilerplate-block"
TEMPLATE = "template"
# Duplicates.
DUP_PARA = "duplicate-paragraph"
NEAR_DUP_PARA = "near-duplicate-paragraph"
CORPUS_DUP_PARA = "corpus-duplicate-paragraph"
CORPUS_NEAR_DUP_PARA = "corpus-near-duplicate-paragraph"
DUP_DOC = "duplicate-document"
NEAR_DUP_DOC = "near-duplicate-document"
EMPTY_DOC = "empty-document"

DESCRIPTIONS: dict[str, str] = {
    ADVERTISEMENT: "advertising or sponsored text",
    SUBSCRIPTION: "a pitch to subscribe, donate or log in",
    COMMENT_PROMPT: "a comment-section prompt or count",
    TEASER: "a teaser/related-stories block ('More from ...')",
    SOCIAL: "an embedded social-media post",
    NEWSLETTER: "a newsletter or e-mail sign-up prompt",
    COOKIE: "a cookie or consent notice",
    SHARE: "share/follow buttons",
    NAVIGATION: "site navigation, menus, breadcrumbs",
    LEGAL: "copyright, legal or policy footer",
    LOW_CONTENT: "no prose (the classifier's features: short, few stopwords, link-like)",
    TAIL_BLOCK: "inside a block of boilerplate that follows the article (or precedes it)",
    TEMPLATE: "repeated across many documents of the corpus (site template)",
    DUP_PARA: "repeats an earlier paragraph of the same document",
    NEAR_DUP_PARA: "nearly repeats an earlier paragraph of the same document",
    CORPUS_DUP_PARA: "repeats a paragraph of an earlier document",
    CORPUS_NEAR_DUP_PARA: "nearly repeats a paragraph of an earlier document",
    DUP_DOC: "the same text as an earlier document",
    NEAR_DUP_DOC: "a near-duplicate of an earlier document (MinHash, Jaccard over the threshold)",
    EMPTY_DOC: "nothing left after cleaning (or empty to begin with)",
}

BOILERPLATE_REASONS = (ADVERTISEMENT, SUBSCRIPTION, COMMENT_PROMPT, TEASER, SOCIAL, NEWSLETTER,
                       COOKIE, SHARE, NAVIGATION, LEGAL)
