"""The cleaning rules: what of a reply is kept as a question or an answer, and why the rest is dropped."""

import pytest

from selfevo.generate.cleaning import clean_answer, clean_question, grounding


@pytest.mark.parametrize("raw,expected", [
    ("Question: What causes ALM-1? And how to fix?", "What causes ALM-1?"),
    ("What is the threshold of the fan alarm?\nAnswer: 3000 rpm", "What is the threshold of the fan alarm?"),
    ("告警的原因是什么？", "告警的原因是什么？"),
])
def test_clean_question_keeps_one_question(raw, expected):
    assert clean_question(raw) == (expected, "ok")


def test_clean_answer_cuts_a_reply_cut_off_mid_sentence():
    assert clean_answer("Replace the fan. Then check the") == ("Replace the fan.", "ok")
    assert clean_answer('It says "stop!" Then') == ('It says "stop!"', "ok")
    assert clean_answer("更换风扇。然后检查") == ("更换风扇。", "ok")
    assert clean_answer("Replace the fan tray") == ("Replace the fan tray", "ok")  # no sentence end: kept whole


def test_clean_drops_with_reasons():
    assert clean_question("The fan is broken.") == (None, "not_a_question")
    assert clean_question("What is the purpose of the alarm in the document?") == (None, "refers_to_document")


def test_broken_characters_are_dropped_by_name():
    """A multi-byte character cut apart by token-level decoding leaves U+FFFD; such text is dropped."""
    broken = "告警ALM-1的原因是什么\ufffd？"
    assert clean_question(broken) == (None, "broken_characters")
    assert clean_answer("更换风扇\ufffd模块。") == (None, "broken_characters")
    assert clean_answer("更换风扇模块。然后检查\ufffd") == ("更换风扇模块。", "ok")  # cut with the partial sentence


def test_clean_question_can_require_a_code_of_its_chunk():
    chunk = "Alarm: ALM-1001 Board Temperature Too High\nDevice: BBU3910\nRaised at 74°C."
    assert clean_question("What is the alarm for?", chunk, named_subject=True) == (None, "names_no_subject")
    assert clean_question("What causes ALM-1002?", chunk, named_subject=True) == (None, "names_no_subject")
    for named in ("What causes ALM-1001?", "Why does the BBU3910 raise it?", "What happens at 74°C?"):
        assert clean_question(named, chunk, named_subject=True) == (named, "ok")
    assert clean_question("What is the alarm for?", chunk) == ("What is the alarm for?", "ok")  # off
    # Chinese glues words to codes: a code ends at a CJK character
    zh_chunk = "告警：ALM-7320 单板温度过高\n设备：OLT MA5800"
    for named in ("ALM-7320在OLT MA5800上是什么级别的告警？", "MA5800出现单板温度过高怎么办？"):
        assert clean_question(named, zh_chunk, named_subject=True) == (named, "ok")
    assert clean_question("ALM-7321在设备上是什么级别？", zh_chunk, named_subject=True) == (None, "names_no_subject")
    assert clean_answer("   ") == (None, "empty_answer")
    assert clean_answer("As stated in the document, replace it.") == (None, "refers_to_document")
    assert clean_answer("Answer: Replace the fan tray.") == ("Replace the fan tray.", "ok")


CHUNK = "Alarm: ALM-1001 Board Temperature Too High\nPossible Reasons:\n- Reason 1: the fan module is faulty."


def test_grounding_is_the_share_of_answer_words_found_in_the_chunk():
    # 10 words; "raised" and "when" are not in the chunk
    assert grounding("ALM-1001 is raised when the fan module is faulty.", CHUNK) == pytest.approx(8 / 10)
    assert grounding("The FAN module", CHUNK) == 1.0  # case does not matter
    assert grounding("Water roses daily.", CHUNK) == 0.0
    assert grounding("...", CHUNK) == 0.0
    # Chinese is counted by characters: 6 of 8 (温度 is not in the chunk)
    assert grounding("风扇模块故障温度", "告警原因：风扇模块故障。") == pytest.approx(6 / 8)


def test_clean_answer_drops_the_documents_lines_echoed_back():
    echo = "Alarm: ALM-1001 Board Temperature Too High\nPossible Reasons:\nIt is hot."
    assert clean_answer(echo, CHUNK) == (None, "copies_document")  # 2 of 3 lines are the chunk's
    assert clean_answer("Alarm: ALM-1001 Board Temperature Too High", CHUNK) == (None, "copies_document")
    sentence = "ALM-1001 Board Temperature Too High is raised because the fan module is faulty."
    assert clean_answer(sentence, CHUNK) == (sentence, "ok")  # its words come from the chunk, its line does not


def test_clean_answer_drops_an_answer_not_read_from_its_chunk():
    made_up = "Water the roses every morning."
    assert clean_answer(made_up, CHUNK) == (made_up, "ok")  # min_grounding 0: off
    assert clean_answer(made_up, CHUNK, min_grounding=0.75) == (None, "not_grounded")
    read = "The fan module is faulty."
    assert clean_answer(read, CHUNK, min_grounding=0.75) == (read, "ok")


def test_a_question_naming_a_digit_free_subject_of_the_title_is_kept():
    from selfevo.data.chunking import prepare_chunks
    from selfevo.data.corpus import Document

    docs = [Document(f"{name}.md", f"# {name}\n\n## Impact\n\n{name} stops new pods from starting on the node.\n",
                     name, ".md") for name in ("KubeletDown", "KubeProxyDown", "CoreDNSDown", "EtcdNoLeader")]
    chunks, _ = prepare_chunks(docs, max_chars=1500, min_chars=10)
    chunk = chunks[0]
    assert chunk["text"] == "KubeletDown > Impact\n\nKubeletDown stops new pods from starting on the node."
    terms = chunk["subject_terms"]
    assert terms == ["KubeletDown"]  # "Impact", a heading of every document, names nothing
    keep = "What happens to new pods when KubeletDown fires?"
    assert clean_question(keep, chunk["text"], True, terms) == (keep, "ok")
    assert clean_question("What is the impact on new pods?", chunk["text"], True, terms) == (None, "names_no_subject")
    assert clean_question("What is the impact of kubeletdown?", chunk["text"], True, terms)[1] == "ok"


def test_one_cjk_range_for_words_codes_and_facts():
    """text.CJK is every scanner's range: a character of CJK extension A (U+3400..) is a word of its own
    to `words`, ends a code for `names_subject`, and is scanned as Chinese by the fact measure."""
    from selfevo.evaluate.facts import states
    from selfevo.generate.cleaning import names_subject
    from selfevo.text import chinese_share, words

    assert words("㐀㑇ALM-7320") == ["㐀", "㑇", "alm", "7320"]
    assert chinese_share(["㐀㑇"]) == 1.0
    assert names_subject("㐀7320㑇是什么？", "告警 7320")
    assert states("告警㐀㑇已清除", "㐀㑇") and not states("告警已清除", "㐀㑇")


def test_a_decimal_point_does_not_end_a_sentence_for_the_contamination_check():
    from selfevo.evaluate.contamination import shared_sentences

    assert shared_sentences(["Set it to 3.5 V."], ["5 V."]) == []
    assert shared_sentences(["Set it low. 5 V."], ["5 V."]) == [(0, 0)]
