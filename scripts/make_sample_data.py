"""Write the embedded default's data: an O&M corpus, its held-out test set, and the teacher's QA.

    python scripts/make_sample_data.py --seed 0

Outputs (committed to the repo, so a fresh clone needs no network):
- data/corpus/*.md       60 alarm documents in the paper's Table III form (the *target* domain), with
                         made-up codes, devices, thresholds and steps that no model can guess.
- data/test.jsonl        60 questions an engineer would ask about them (one per document, in random
                         order), with reference answers, the facts a right answer states, and kinds.
- data/teacher/qa.jsonl  one QA pair per alarm document from the embedded "teacher", in its own
                         wording: the data that θ_HQ, the strong-teacher baseline, is tuned on.
- data/ceiling/qa.jsonl  the teacher's QA on every fact of every document, each fact asked in two
                         wordings (never the test's): what the ceiling (scripts/recipe_study.py) is
                         trained on, to show what this model size can hold at all.

    python scripts/make_sample_data.py --seed 1 --out data/dev

writes the development set, the same families of alarms with other codes, devices and values, on which
the training recipe is chosen (never on data/test.jsonl).

Each alarm document holds more facts (id, severity, thresholds, several reasons and steps) than one
question can cover, so later rounds can still ask new questions about it. The test questions are worded
the way engineers ask, not the way the generator's prompts ask.
"""

import argparse
import json
import random
from pathlib import Path

DEVICES = ["BBU3910", "RRU5258", "OLT MA5800", "PTN 960", "AAU5613", "SPN 620", "BSC6910",
           "UPS 5000E", "NE40E router", "S6730 switch", "DCDU-12B", "OSN 1800"]

# (name, metric, unit, raise-values, clear-gap, trigger, reasons); a reason is (cause, step, the cause's
# key words, the step's key words): the keys are the facts a right answer states (test.jsonl `facts`)
FAMILIES = [
    ("Board Temperature Too High", "board temperature", "°C", (70, 95), 5,
     "the board temperature stays above the upper threshold for 30 seconds",
     [("the fan module is faulty", "check the fan status in the device panel, then replace the fan module if it has stopped",
      "fan module is faulty", "replace the fan module"),
      ("the air filter is blocked by dust", "remove the air filter, clean it with a vacuum, then reinstall it",
      "air filter is blocked", "clean it with a vacuum"),
      ("the equipment room air conditioner has failed", "measure the room temperature, then ask the facility team to repair the air conditioner",
      "air conditioner has failed", "repair the air conditioner"),
      ("the board is overloaded", "check the board load on the management system, then move some services to another board",
      "board is overloaded", "move some services to another board")]),
    ("Fan Speed Abnormal", "fan speed", " rpm", (1500, 3000), 300,
     "the fan speed falls below the lower threshold",
     [("the fan blades are blocked", "power off the fan tray, remove the obstruction, then power it on again",
      "fan blades are blocked", "remove the obstruction"),
      ("the fan tray is not seated firmly", "pull out the fan tray, then reinsert it until it clicks",
      "not seated firmly", "reinsert it until it clicks"),
      ("the fan motor has aged", "replace the fan tray with a spare one",
      "fan motor has aged", "replace the fan tray")]),
    ("Input Power Failure", "input voltage", " V", (38, 44), 2,
     "the input voltage drops below the lower threshold",
     [("the power cable is loose", "tighten the power cable at both ends, then check that the voltage recovers",
      "power cable is loose", "tighten the power cable"),
      ("the upstream circuit breaker has tripped", "inspect the distribution frame, then reset the circuit breaker",
      "circuit breaker has tripped", "reset the circuit breaker"),
      ("the rectifier module is faulty", "check the rectifier indicators, then replace the failed rectifier module",
      "rectifier module is faulty", "replace the failed rectifier module")]),
    ("Optical Receive Power Too Low", "received optical power", " dBm", (-28, -20), 2,
     "the received optical power stays below the lower threshold",
     [("the fiber connector is dirty", "clean the fiber connector with a cleaning pen, then measure the power again",
      "fiber connector is dirty", "clean the fiber connector"),
      ("the fiber is bent too sharply", "check the fiber route, then straighten the bend",
      "bent too sharply", "straighten the bend"),
      ("the optical module is aging", "test the module with an optical power meter, then replace it if the power is low",
      "optical module is aging", "optical power meter"),
      ("the peer transmitter is faulty", "ask the peer site to check its transmit power, then replace the peer module",
      "peer transmitter is faulty", "replace the peer module")]),
    ("Link Down", "link error count", " errors", (10, 50), 10,
     "the port link goes down or the error count exceeds the threshold",
     [("the network cable is damaged", "test the cable with a cable tester, then replace the damaged cable",
      "network cable is damaged", "replace the damaged cable"),
      ("the peer port is shut down", "log in to the peer device, then enable the port",
      "peer port is shut down", "enable the port"),
      ("the port rate does not match the peer", "compare the port settings on both ends, then set the same rate",
      "port rate does not match", "set the same rate")]),
    ("CPU Usage Too High", "CPU usage", "%", (80, 95), 10,
     "the CPU usage stays above the threshold for five minutes",
     [("too many services run on the board", "check the service list, then migrate some services to another board",
      "too many services", "migrate some services"),
      ("a process is stuck in a loop", "find the process with the highest usage, then restart it",
      "stuck in a loop", "restart it"),
      ("the device is under a traffic attack", "check the traffic statistics, then enable attack defense",
      "traffic attack", "enable attack defense")]),
    ("Memory Usage Too High", "memory usage", "%", (80, 95), 10,
     "the memory usage stays above the threshold for five minutes",
     [("a process has a memory leak", "find the process whose memory keeps growing, then restart it",
      "memory leak", "restart it"),
      ("the routing table is too large", "check the route count, then summarize routes",
      "routing table is too large", "summarize routes"),
      ("too many log files are cached", "export the logs, then clear the log cache",
      "log files are cached", "clear the log cache")]),
    ("Disk Usage Too High", "disk usage", "%", (85, 95), 5,
     "the disk usage exceeds the threshold",
     [("old log files are not cleaned", "export the old logs, then delete them from the disk",
      "old log files", "delete them from the disk"),
      ("the backup files are too large", "move the backup files to the backup server",
      "backup files are too large", "move the backup files"),
      ("the disk has bad sectors", "run the disk check tool, then replace the disk if errors are found",
      "bad sectors", "replace the disk")]),
    ("Clock Synchronization Lost", "clock offset", " us", (1, 5), 1,
     "the clock offset from the reference source exceeds the threshold",
     [("the GPS antenna is damaged", "check the antenna status, then replace the GPS antenna",
      "GPS antenna is damaged", "replace the GPS antenna"),
      ("the clock source is unavailable", "check the clock source configuration, then switch to a backup clock source",
      "clock source is unavailable", "switch to a backup clock source"),
      ("the clock cable is loose", "tighten the clock cable connector",
      "clock cable is loose", "tighten the clock cable connector")]),
    ("VSWR Too High", "VSWR", "", (2, 4), 1,
     "the voltage standing wave ratio of the antenna port exceeds the threshold",
     [("the feeder connector is loose", "tighten the feeder connector with a torque wrench",
      "feeder connector is loose", "torque wrench"),
      ("water has entered the feeder", "dry the connector, then seal it with waterproof tape",
      "water has entered the feeder", "waterproof tape"),
      ("the antenna is damaged", "inspect the antenna, then replace it if it is damaged",
      "antenna is damaged", "replace it if it is damaged")]),
    ("Battery Voltage Low", "battery voltage", " V", (44, 47), 2,
     "the battery voltage drops below the threshold during discharge",
     [("the mains supply has been cut for a long time", "check the mains supply, then start the backup generator",
      "mains supply has been cut", "start the backup generator"),
      ("the battery has aged", "test the battery capacity, then replace batteries below 80 percent",
      "battery has aged", "replace batteries below 80 percent"),
      ("the charging current is set too low", "check the charging settings, then raise the charging current limit",
      "charging current is set too low", "raise the charging current limit")]),
    ("Packet Loss Rate Too High", "packet loss rate", "%", (1, 5), 1,
     "the packet loss rate on the port exceeds the threshold",
     [("the link is congested", "check the port bandwidth usage, then expand the link capacity",
      "link is congested", "expand the link capacity"),
      ("the optical module is faulty", "check the module error counters, then replace the optical module",
      "optical module is faulty", "replace the optical module"),
      ("the QoS policy drops traffic", "review the QoS policy, then adjust the queue limits",
      "QoS policy drops traffic", "adjust the queue limits")]),
    ("License Near Expiry", "remaining license days", " days", (15, 60), 0,
     "the license will expire within the threshold number of days",
     [("the license was not renewed", "apply for a new license file from the vendor, then load it",
      "license was not renewed", "apply for a new license file"),
      ("the device clock is wrong", "correct the device time, then check the license status again",
      "device clock is wrong", "correct the device time")]),
    ("Door Open", "door open time", " minutes", (5, 30), 0,
     "the cabinet door stays open longer than the threshold",
     [("maintenance work is in progress", "confirm the work order with the on-site engineer, then close the door when finished",
      "maintenance work is in progress", "confirm the work order"),
      ("the door sensor is faulty", "test the door sensor, then replace it if it does not respond",
      "door sensor is faulty", "replace it if it does not respond"),
      ("the door lock is broken", "repair the door lock, then close the door",
      "door lock is broken", "repair the door lock")]),
]
SEVERITIES = ["critical", "major", "minor", "warning"]


def make_alarm_docs(rng: random.Random, n: int) -> list[dict]:
    combos = [(f, d) for f in range(len(FAMILIES)) for d in DEVICES]
    rng.shuffle(combos)
    ids = rng.sample(range(1000, 9999), n)
    docs = []
    for (fam_i, device), alarm_id in zip(combos[:n], ids):
        name, metric, unit, (lo, hi), gap, trigger, reasons = FAMILIES[fam_i]
        raise_at = rng.randint(lo, hi)
        clear_at = raise_at - gap if gap else raise_at
        picked = rng.sample(reasons, min(len(reasons), rng.choice([2, 3])))
        docs.append({"id": alarm_id, "name": name, "device": device, "metric": metric, "unit": unit,
                     "raise": raise_at, "clear": clear_at, "trigger": trigger,
                     "severity": rng.choice(SEVERITIES), "reasons": picked})
    return docs


def render_alarm(doc: dict) -> str:
    lines = [f"Alarm: ALM-{doc['id']} {doc['name']}",
             f"Device: {doc['device']}",
             f"Severity: {doc['severity']}",
             "Alarm Explanation:",
             f"- This alarm is raised when {doc['trigger']}.",
             f"- The alarm is raised when the {doc['metric']} reaches {doc['raise']}{doc['unit']} "
             f"and cleared when it returns to {doc['clear']}{doc['unit']}."]
    return "\n".join(lines + reason_sections(doc["reasons"])) + "\n"


def reason_sections(pairs: list[tuple[str, ...]], causes: str = "Possible Reasons",
                    steps: str = "Processing Steps") -> list[str]:
    """A document's last two sections: each reason's cause and step as a numbered bullet under each."""
    return ([f"{causes}:"] + [f"- Reason {k}: {r}." for k, (r, *_) in enumerate(pairs, 1)]
            + [f"{steps}:"] + [f"- Reason {k}: {s}." for k, (_, s, *_) in enumerate(pairs, 1)])


def engineer_question(rng: random.Random, doc: dict) -> dict:
    """One question as an engineer would ask it, with a reference answer written from the document, its
    kind, and the facts a right answer states (the numbers, the severity word, or a cause's or step's key
    words)."""
    a = f"ALM-{doc['id']}"
    dev, name = doc["device"], doc["name"]
    kind = rng.choice(["threshold", "reasons", "fix", "severity"])
    if kind == "threshold":
        q = rng.choice([f"Our {dev} keeps throwing {a}. At what {doc['metric']} does it fire and when does it clear?",
                        f"What {doc['metric']} sets off {name} on the {dev}, and when does it go away?"])
        ans = (f"{a} {name} on the {dev} is raised when the {doc['metric']} reaches {doc['raise']}{doc['unit']} "
               f"and cleared when it returns to {doc['clear']}{doc['unit']}.")
        facts = list(dict.fromkeys([str(doc["raise"]), str(doc["clear"])]))
    elif kind == "reasons":
        q = rng.choice([f"{a} just showed up on one of our {dev} units. What usually causes it?",
                        f"Why would the {dev} report {name}?"])
        causes = " or ".join(r for r, *_ in doc["reasons"])
        ans = f"{name} on the {dev} is usually caused by {causes}."
        facts = [cause_key for _, _, cause_key, _ in doc["reasons"]]
    elif kind == "fix":
        reason, step, _, step_key = rng.choice(doc["reasons"])
        q = rng.choice([f"I think {a} on the {dev} is there because {reason}. How do I fix it?",
                        f"{name} on our {dev}, and it looks like {reason}. What should I do?"])
        ans = f"When {name} on the {dev} is caused because {reason}, {step}."
        facts = [step_key]
    else:
        q = rng.choice([f"How serious is {a} on the {dev}?", f"What severity does {name} have on the {dev}?"])
        ans = f"{a} {name} on the {dev} is a {doc['severity']} alarm."
        facts = [doc["severity"]]
    return {"question": q, "answer": ans, "facts": facts, "kind": kind, "alarm": a}


def teacher_pair(rng: random.Random, doc: dict) -> dict:
    """The embedded teacher's one QA pair for a document (the paper's setup: one per document): what a
    much stronger model would write with the pipeline's prompts, correct, from the document alone, in
    its own wording. It never sees the test set: its templates share no sentence with the test
    references' (tests/test_sample_data.py), and another random stream picks what it asks."""
    a, dev, name = f"ALM-{doc['id']}", doc["device"], doc["name"]
    kind = rng.choice(["threshold", "reasons", "fix", "severity"])
    if kind == "threshold":
        q = f"Which {doc['metric']} makes the {dev} report {a}?"
        clears = (f"; it goes away again at {doc['clear']}{doc['unit']}" if doc["clear"] != doc["raise"] else "")
        ans = f"The {dev} reports {a} once its {doc['metric']} hits {doc['raise']}{doc['unit']}{clears}."
    elif kind == "reasons":
        q = f"List what can trigger {a} on a {dev}."
        ans = f"{a} on a {dev} has these known triggers: " + "; ".join(r for r, *_ in doc["reasons"]) + "."
    elif kind == "fix":
        reason, step, *_ = rng.choice(doc["reasons"])
        q = f"{a} on a {dev}: what is the remedy if {reason}?"
        ans = f"Remedy for {a} if {reason}: {step}."
    else:
        q = f"Which severity level does the {dev} give {a}?"
        ans = f"The {dev} gives {a} the severity level {doc['severity']}."
    return {"question": q, "answer": ans}


def teacher_pairs_on_every_fact(doc: dict) -> list[dict]:
    """The teacher's QA on each fact of a document (thresholds, causes, each cause's remedy, severity),
    each asked in two wordings of the teacher's own, with answers from the document alone."""
    a, dev, name, unit = f"ALM-{doc['id']}", doc["device"], doc["name"], doc["unit"]
    clears = f" and clears at {doc['clear']}{unit}" if doc["clear"] != doc["raise"] else ""
    level = f"{a} ({name}) fires on a {dev} at a {doc['metric']} of {doc['raise']}{unit}{clears}."
    causes = f"{a} ({name}) on a {dev} comes from: " + "; ".join(r for r, *_ in doc["reasons"]) + "."
    grade = f"On a {dev}, {a} ({name}) is graded {doc['severity']}."
    pairs = [(f"Which {doc['metric']} makes the {dev} report {a}?", level),
             (f"At which {doc['metric']} level is {name} ({a}) reported on a {dev}?", level),
             (f"List what can trigger {a} on a {dev}.", causes),
             (f"Name the known triggers of {name} ({a}) on a {dev}.", causes),
             (f"Which severity level does the {dev} give {a}?", grade),
             (f"How is {name} ({a}) graded on a {dev}?", grade)]
    for reason, step, *_ in doc["reasons"]:
        remedy = f"Remedy for {a} ({name}) on a {dev} if {reason}: {step}."
        pairs += [(f"{a} on a {dev}: what is the remedy if {reason}?", remedy),
                  (f"What remedies {name} ({a}) on a {dev} when {reason}?", remedy)]
    return [{"question": q, "answer": ans} for q, ans in pairs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--tests", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("data"))
    args = parser.parse_args()
    rng = random.Random(args.seed)

    corpus_dir = args.out / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for old in corpus_dir.glob("*.md"):
        old.unlink()
    docs = make_alarm_docs(rng, args.docs)
    for doc in docs:
        (corpus_dir / f"ALM-{doc['id']}.md").write_text(render_alarm(doc), encoding="utf-8")
    with open(args.out / "test.jsonl", "w", encoding="utf-8") as f:
        for doc in rng.sample(docs, args.tests):
            f.write(json.dumps(engineer_question(rng, doc), ensure_ascii=False) + "\n")
    teacher_rng = random.Random(f"{args.seed}:teacher")
    (args.out / "teacher").mkdir(parents=True, exist_ok=True)
    with open(args.out / "teacher" / "qa.jsonl", "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(teacher_pair(teacher_rng, doc), ensure_ascii=False) + "\n")
    (args.out / "ceiling").mkdir(parents=True, exist_ok=True)
    every_fact = [p for doc in docs for p in teacher_pairs_on_every_fact(doc)]
    with open(args.out / "ceiling" / "qa.jsonl", "w", encoding="utf-8") as f:
        for pair in every_fact:
            f.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"wrote {len(docs)} documents to {corpus_dir}, {args.tests} test questions, {len(docs)} teacher QA pairs "
          f"and {len(every_fact)} on every fact")


if __name__ == "__main__":
    main()
