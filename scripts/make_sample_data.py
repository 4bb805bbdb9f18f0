"""Write the embedded default's data: an O&M corpus, its held-out test set, and a general reading set.

    python scripts/make_sample_data.py --seed 0

Outputs (committed to the repo, so a fresh clone needs no network):
- data/corpus/*.md       150 alarm documents in the paper's Table III form (the *target* domain).
- data/test.jsonl        150 questions an engineer would ask about them (one per document, in random
                         order), with reference answers.
- data/general.jsonl     a general reading-comprehension set on another subject (a fictional
                         greenhouse's plants and equipment alarms) used only to teach the tiny
                         base model to follow the two prompts; its last 50 cards
                         (embedded.heldout_cards) are kept out of training for the base
                         stage's reading check.
- data/teacher_qa.jsonl  one QA pair per alarm document from the embedded "teacher": the data that
                         θ_HQ, the strong-teacher baseline, is tuned on.

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

# (name, metric, unit, raise-values, clear-gap, trigger, reasons, steps per reason)
FAMILIES = [
    ("Board Temperature Too High", "board temperature", "°C", (70, 95), 5,
     "the board temperature stays above the upper threshold for 30 seconds",
     [("the fan module is faulty", "check the fan status in the device panel, then replace the fan module if it has stopped"),
      ("the air filter is blocked by dust", "remove the air filter, clean it with a vacuum, then reinstall it"),
      ("the equipment room air conditioner has failed", "measure the room temperature, then ask the facility team to repair the air conditioner"),
      ("the board is overloaded", "check the board load on the management system, then move some services to another board")]),
    ("Fan Speed Abnormal", "fan speed", " rpm", (1500, 3000), 300,
     "the fan speed falls below the lower threshold",
     [("the fan blades are blocked", "power off the fan tray, remove the obstruction, then power it on again"),
      ("the fan tray is not seated firmly", "pull out the fan tray, then reinsert it until it clicks"),
      ("the fan motor has aged", "replace the fan tray with a spare one")]),
    ("Input Power Failure", "input voltage", " V", (38, 44), 2,
     "the input voltage drops below the lower threshold",
     [("the power cable is loose", "tighten the power cable at both ends, then check that the voltage recovers"),
      ("the upstream circuit breaker has tripped", "inspect the distribution frame, then reset the circuit breaker"),
      ("the rectifier module is faulty", "check the rectifier indicators, then replace the failed rectifier module")]),
    ("Optical Receive Power Too Low", "received optical power", " dBm", (-28, -20), 2,
     "the received optical power stays below the lower threshold",
     [("the fiber connector is dirty", "clean the fiber connector with a cleaning pen, then measure the power again"),
      ("the fiber is bent too sharply", "check the fiber route, then straighten the bend"),
      ("the optical module is aging", "test the module with an optical power meter, then replace it if the power is low"),
      ("the peer transmitter is faulty", "ask the peer site to check its transmit power, then replace the peer module")]),
    ("Link Down", "link error count", " errors", (10, 50), 10,
     "the port link goes down or the error count exceeds the threshold",
     [("the network cable is damaged", "test the cable with a cable tester, then replace the damaged cable"),
      ("the peer port is shut down", "log in to the peer device, then enable the port"),
      ("the port rate does not match the peer", "compare the port settings on both ends, then set the same rate")]),
    ("CPU Usage Too High", "CPU usage", "%", (80, 95), 10,
     "the CPU usage stays above the threshold for five minutes",
     [("too many services run on the board", "check the service list, then migrate some services to another board"),
      ("a process is stuck in a loop", "find the process with the highest usage, then restart it"),
      ("the device is under a traffic attack", "check the traffic statistics, then enable attack defense")]),
    ("Memory Usage Too High", "memory usage", "%", (80, 95), 10,
     "the memory usage stays above the threshold for five minutes",
     [("a process has a memory leak", "find the process whose memory keeps growing, then restart it"),
      ("the routing table is too large", "check the route count, then summarize routes"),
      ("too many log files are cached", "export the logs, then clear the log cache")]),
    ("Disk Usage Too High", "disk usage", "%", (85, 95), 5,
     "the disk usage exceeds the threshold",
     [("old log files are not cleaned", "export the old logs, then delete them from the disk"),
      ("the backup files are too large", "move the backup files to the backup server"),
      ("the disk has bad sectors", "run the disk check tool, then replace the disk if errors are found")]),
    ("Clock Synchronization Lost", "clock offset", " us", (1, 5), 1,
     "the clock offset from the reference source exceeds the threshold",
     [("the GPS antenna is damaged", "check the antenna status, then replace the GPS antenna"),
      ("the clock source is unavailable", "check the clock source configuration, then switch to a backup clock source"),
      ("the clock cable is loose", "tighten the clock cable connector")]),
    ("VSWR Too High", "VSWR", "", (2, 4), 1,
     "the voltage standing wave ratio of the antenna port exceeds the threshold",
     [("the feeder connector is loose", "tighten the feeder connector with a torque wrench"),
      ("water has entered the feeder", "dry the connector, then seal it with waterproof tape"),
      ("the antenna is damaged", "inspect the antenna, then replace it if it is damaged")]),
    ("Battery Voltage Low", "battery voltage", " V", (44, 47), 2,
     "the battery voltage drops below the threshold during discharge",
     [("the mains supply has been cut for a long time", "check the mains supply, then start the backup generator"),
      ("the battery has aged", "test the battery capacity, then replace batteries below 80 percent"),
      ("the charging current is set too low", "check the charging settings, then raise the charging current limit")]),
    ("Packet Loss Rate Too High", "packet loss rate", "%", (1, 5), 1,
     "the packet loss rate on the port exceeds the threshold",
     [("the link is congested", "check the port bandwidth usage, then expand the link capacity"),
      ("the optical module is faulty", "check the module error counters, then replace the optical module"),
      ("the QoS policy drops traffic", "review the QoS policy, then adjust the queue limits")]),
    ("License Near Expiry", "remaining license days", " days", (15, 60), 0,
     "the license will expire within the threshold number of days",
     [("the license was not renewed", "apply for a new license file from the vendor, then load it"),
      ("the device clock is wrong", "correct the device time, then check the license status again")]),
    ("Door Open", "door open time", " minutes", (5, 30), 0,
     "the cabinet door stays open longer than the threshold",
     [("maintenance work is in progress", "confirm the work order with the on-site engineer, then close the door when finished"),
      ("the door sensor is faulty", "test the door sensor, then replace it if it does not respond"),
      ("the door lock is broken", "repair the door lock, then close the door")]),
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


def reason_sections(pairs: list[tuple[str, str]], causes: str = "Possible Reasons",
                    steps: str = "Processing Steps") -> list[str]:
    """A document's last two sections: each (reason, step) pair as a numbered bullet under each."""
    return ([f"{causes}:"] + [f"- Reason {k}: {r}." for k, (r, _) in enumerate(pairs, 1)]
            + [f"{steps}:"] + [f"- Reason {k}: {s}." for k, (_, s) in enumerate(pairs, 1)])


def engineer_question(rng: random.Random, doc: dict) -> dict:
    """One question as an engineer would ask it, with a reference answer written from the document."""
    a = f"ALM-{doc['id']}"
    dev, name = doc["device"], doc["name"]
    kind = rng.choice(["threshold", "reasons", "fix", "severity"])
    if kind == "threshold":
        q = rng.choice([f"Our {dev} keeps throwing {a}. At what {doc['metric']} does it fire and when does it clear?",
                        f"What {doc['metric']} sets off {name} on the {dev}, and when does it go away?"])
        ans = (f"{a} {name} on the {dev} is raised when the {doc['metric']} reaches {doc['raise']}{doc['unit']} "
               f"and cleared when it returns to {doc['clear']}{doc['unit']}.")
    elif kind == "reasons":
        q = rng.choice([f"{a} just showed up on one of our {dev} units. What usually causes it?",
                        f"Why would the {dev} report {name}?"])
        causes = " or ".join(r for r, _ in doc["reasons"])
        ans = f"{name} on the {dev} is usually caused by {causes}."
    elif kind == "fix":
        reason, step = rng.choice(doc["reasons"])
        q = rng.choice([f"I think {a} on the {dev} is there because {reason}. How do I fix it?",
                        f"{name} on our {dev}, and it looks like {reason}. What should I do?"])
        ans = f"When {name} on the {dev} is caused because {reason}, {step}."
    else:
        q = rng.choice([f"How serious is {a} on the {dev}?", f"What severity does {name} have on the {dev}?"])
        ans = f"{a} {name} on the {dev} is a {doc['severity']} alarm."
    return {"question": q, "answer": ans, "alarm": a}


def teacher_pair(rng: random.Random, doc: dict) -> dict:
    """The embedded teacher's one QA pair for a document: what a much stronger model would write with
    the pipeline's prompts, correct and in the document's own words. It is written from the document
    alone (another random stream than the test set's) and never looks at the test questions."""
    a, dev, name = f"ALM-{doc['id']}", doc["device"], doc["name"]
    kind = rng.choice(["threshold", "reasons", "fix", "severity"])
    if kind == "threshold":
        q = f"At what {doc['metric']} is {a} {name} raised on the {dev}?"
        ans = (f"{a} {name} is raised when the {doc['metric']} reaches {doc['raise']}{doc['unit']} "
               f"and cleared when it returns to {doc['clear']}{doc['unit']}.")
    elif kind == "reasons":
        q = f"What are the possible reasons for {a} {name} on the {dev}?"
        ans = f"The possible reasons for {a} {name} are that " + " or that ".join(r for r, _ in doc["reasons"]) + "."
    elif kind == "fix":
        reason, step = rng.choice(doc["reasons"])
        q = f"How should {a} {name} be handled when {reason}?"
        ans = f"When {reason}, {step}."
    else:
        q = f"What is the severity of {a} {name} on the {dev}?"
        ans = f"{a} {name} on the {dev} is a {doc['severity']} alarm."
    return {"question": q, "answer": ans}


# --- the general reading set: a greenhouse's plants and equipment, another subject entirely --------------
# The cards' contents are drawn at random from broad lists of everyday English words, so a model cannot
# guess them: the only way to answer is to read the card and copy from it. That is the skill θ_0 needs,
# and the reason the set says nothing about network alarms or devices. Half the cards are plant cards
# whose labels vary (Plant/Herb/Tree, Care Level/Priority/Severity, ...), so θ_0 learns to read a
# labelled card of any kind; the other half are greenhouse equipment alarms written in the paper's alarm
# form, the form a general model has met in many manuals, so θ_0 can read that form too (their subject
# and every value are still made up). The words are those a general model knows, so the target
# documents do not fall apart into single letters under the tokenizer learned from this set.
WORDS = ["Amber", "Velvet", "Silver", "Marsh", "Dawn", "Copper", "Misty", "Ember", "Frost", "Willow", "Saffron",
         "Cobalt", "Ivory", "Rustic", "Lunar", "Coral", "Jade", "Thistle", "Hazel", "Opal", "Golden", "Crimson",
         "Meadow", "River", "Stone", "Cedar", "Maple", "Violet", "Scarlet", "Azure", "High", "Low", "Long", "Short",
         "Early", "Late", "Quick", "Slow", "Bright", "Dark", "Light", "Heavy", "Open", "Closed", "Lost", "Found",
         "Down", "Up", "North", "South", "East", "West", "Power", "Signal", "Board", "Temperature", "Speed", "Rate",
         "Loss", "Usage", "Memory", "Input", "Output", "Door", "Link", "Clock", "Battery", "Voltage", "Pressure",
         "Level", "Water", "Fire", "Storm", "Cloud", "Snow", "Rain", "Sun", "Moon", "Star", "King", "Queen",
         "Abnormal", "Normal", "Failure", "Error", "Fault", "Alarm", "Warning", "Near", "Far", "Expiry", "License",
         "Optical", "Receive", "Send", "Packet", "Disk", "Fan", "Too", "Very", "Much", "Full", "Empty", "Central",
         "Main", "Spare", "Backup", "Remote", "Local", "Digital", "Analog", "Green", "Blue", "Red", "White", "Black",
         "Winter", "Summer", "Spring", "Autumn", "Mountain", "Valley", "Forest", "Lake", "Harbor", "Bridge",
         "Tower", "Castle", "Garden", "Village", "City", "Station", "Market", "Engine", "Motor", "Wheel", "Cable",
         "Sensor", "Module", "Panel", "Switch", "Router", "Port", "Frame", "Network", "System", "Service", "Unit"]
KINDS = ["Lily", "Fern", "Sage", "Orchid", "Clover", "Poppy", "Moss", "Ivy", "Tulip", "Aster", "Rose", "Daisy",
         "Basil", "Mint", "Heather", "Lotus", "Reed", "Vine", "Cactus", "Laurel", "Oak", "Pine", "Palm", "Bamboo"]
SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "zu", "bra", "qui", "del", "fen", "gor", "hal", "ix",
             "jun", "mar", "nol", "pe", "ros", "tal", "ur", "wen", "yar"]
NOUNS = ["root", "stem", "leaf", "bud", "pot", "soil", "tray", "hose", "filter", "pump", "valve", "cable", "lamp",
         "sensor", "fence", "gate", "panel", "frame", "net", "tank", "pipe", "label", "bench", "shelf", "cover",
         "seed", "bulb", "branch", "bark", "flower", "fruit", "mulch", "compost", "gravel", "sand", "clay", "timer",
         "heater", "fan", "window", "door", "roof", "wall", "drain", "module", "board", "port", "meter", "screen",
         "power supply", "battery", "charger", "controller", "switch", "fuse", "plug", "connector", "antenna",
         "motor", "fan blade", "air filter", "water pump", "light sensor", "door lock", "circuit breaker",
         "log file", "memory card", "display", "clock", "cooling unit", "air conditioner", "wire", "lid", "tap"]
ADJECTIVES = ["dry", "wet", "loose", "blocked", "broken", "cold", "hot", "dirty", "bent", "worn", "damaged",
              "missing", "too small", "too large", "overloaded", "aged", "faulty", "cracked", "rusty", "shut",
              "stuck", "full", "empty", "unplugged", "leaking", "noisy", "frozen", "misaligned", "too slow",
              "too fast", "switched off", "not seated firmly", "covered in dust", "out of date", "unstable"]
VERBS = ["check", "clean", "replace", "tighten", "move", "water", "cut", "lift", "measure", "test", "inspect",
         "reset", "open", "close", "dry", "cover", "remove", "refill", "adjust", "repair", "restart", "reinstall",
         "power off", "power on", "unplug", "reconnect", "update", "seal", "straighten", "label"]
METRICS = [("soil temperature", "°C", (5, 40)), ("light level", " lux", (100, 900)), ("soil moisture", "%", (5, 90)),
           ("salt level", " ppm", (100, 900)), ("water flow", " L/h", (1, 60)), ("leaf count", " leaves", (3, 80)),
           ("pot weight", " kg", (1, 30)), ("humidity", "%", (20, 95)), ("air temperature", "°C", (0, 45)),
           ("fan speed", " rpm", (200, 3000)), ("pump pressure", " bar", (1, 9)), ("supply voltage", " V", (5, 240)),
           ("battery level", "%", (5, 100)), ("water level", " cm", (2, 120)), ("wind speed", " km/h", (5, 90)),
           ("lamp power", " W", (10, 400)), ("signal strength", " dBm", (-90, -30)), ("error count", " errors", (1, 50))]
EVENTS = [("wilts", "wilt"), ("flowers", "flower"), ("drops its leaves", "drop its leaves"),
          ("turns yellow", "turn yellow"), ("stops growing", "stop growing"), ("opens its buds", "open its buds"),
          ("needs care", "need care"), ("is moved indoors", "be moved indoors")]
TITLE_LABELS = ["Plant", "Herb", "Shrub", "Tree", "Flower", "Crop"]
PLACES = [("Garden", "bed"), ("Greenhouse", "row"), ("Location", "plot"), ("Field", "zone"), ("Site", "area")]
LEVELS = [("Care Level", ["easy", "moderate", "demanding", "expert"]),
          ("Priority", ["low", "medium", "high", "urgent"]),
          ("Severity", ["critical", "major", "minor", "warning"]),
          ("Risk Level", ["low", "moderate", "high", "extreme"])]
EXPLANATIONS = ["Plant Explanation", "Growth Notes", "Care Explanation", "Description", "Explanation"]
CAUSES = ["Possible Problems", "Possible Causes", "Possible Reasons", "Likely Causes"]
STEPS = ["Care Steps", "Treatment Steps", "Processing Steps", "Handling Steps", "Repair Steps"]
DEVICE_KINDS = ["drip controller", "grow lamp", "mist pump", "seed tray heater", "vent motor", "rain sensor",
                "water tank", "soil probe", "shade screen", "compost mixer", "root heater", "hose reel"]
EQUIPMENT_SHARE = 0.5  # of the general cards that are greenhouse equipment alarms in the alarm form


def _name(rng: random.Random) -> str:
    """A made-up plant name: unpredictable, so it can only be copied from the card."""
    if rng.random() < 0.3:
        first = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([2, 3]))).capitalize()
        return f"{first} {rng.choice(KINDS)}"
    return " ".join(rng.sample(WORDS, rng.choice([1, 2, 3])) + [rng.choice(KINDS)])


def _code(rng: random.Random) -> str:
    prefix = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice([2, 3])))
    return f"{prefix}-{rng.randint(100, 9999)}"


def _problem(rng: random.Random) -> str:
    return f"the {rng.choice(NOUNS)} is {rng.choice(ADJECTIVES)}"


def _steps(rng: random.Random) -> str:
    a, b = rng.sample(VERBS, 2)
    return f"{a} the {rng.choice(NOUNS)}, then {b} the {rng.choice(NOUNS)}"


def _device(rng: random.Random) -> str:
    """A made-up device name in one of the shapes real ones take: 'KX4410', 'KX 441', 'KX4410 mist pump'."""
    prefix = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice([2, 3, 4])))
    number = rng.randint(10, 9999)
    return rng.choice([f"{prefix}{number}", f"{prefix} {number}", f"{prefix}{number} {rng.choice(DEVICE_KINDS)}",
                       f"{prefix} {prefix[:2]}{number}"])


def _facts(rng: random.Random) -> tuple[str, str, int, int, list[tuple[str, str]]]:
    """A card's metric, its unit, the level that raises it and the one it recovers at, and 2-4
    (problem, steps) pairs."""
    metric, unit, (lo, hi) = rng.choice(METRICS)
    at = rng.randint(lo, hi)
    back = max(lo, at - rng.randint(1, max(1, (hi - lo) // 5)))
    return metric, unit, at, back, [(_problem(rng), _steps(rng)) for _ in range(rng.choice([2, 3, 4]))]


def make_equipment_alarm(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
    """A greenhouse equipment alarm in the alarm form (Alarm / Device / Severity / Alarm Explanation /
    Possible Reasons / Processing Steps), with the four questions a reader asks of that form. The
    name is a few random words and the device a made-up code, so a copy must stop at the line's end."""
    metric, unit, at, back, probs = _facts(rng)
    title = f"{_code(rng)} " + " ".join(rng.sample(WORDS, rng.choice([2, 3, 4])))
    device = _device(rng)
    severity = rng.choice(["critical", "major", "minor", "warning"])
    lines = [f"Alarm: {title}", f"Device: {device}", f"Severity: {severity}", "Alarm Explanation:",
             f"- This alarm is raised when the {metric} {rng.choice(['goes above', 'stays below', 'moves past'])} "
             "the threshold.",
             f"- The alarm is raised when the {metric} reaches {at}{unit} and cleared when it returns to {back}{unit}."]
    lines += reason_sections(probs)
    p, s = rng.choice(probs)
    qa = [(f"When is {title} raised on the {device}?",
           f"{title} is raised when the {metric} reaches {at}{unit} and cleared when it returns to {back}{unit}."),
          (f"What are the possible reasons for {title} on the {device}?",
           f"The possible reasons for {title} are that " + " or that ".join(x for x, _ in probs) + "."),
          (f"How should {title} be handled when {p}?", f"When {p}, {s}."),
          (f"What is the severity of {title} on the {device}?", f"{title} on the {device} is a {severity} alarm.")]
    return "\n".join(lines) + "\n", qa


def make_card(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
    """Return a card and the (question, answer) pairs it supports: half the time a greenhouse
    equipment alarm (make_equipment_alarm), otherwise a plant card with varied labels."""
    if rng.random() < EQUIPMENT_SHARE:
        return make_equipment_alarm(rng)
    metric, unit, at, back, probs = _facts(rng)
    title = f"{_code(rng)} {_name(rng)}"
    verb, verb_base = rng.choice(EVENTS)
    place, unit_word = rng.choice(PLACES)
    level_label, level_values = rng.choice(LEVELS)
    level = rng.choice(level_values)
    lines = [f"{rng.choice(TITLE_LABELS)}: {title}", f"{place}: {unit_word} {rng.randint(1, 99)}",
             f"{level_label}: {level}", f"{rng.choice(EXPLANATIONS)}:",
             f"- This plant {verb} when the {metric} reaches {at}{unit} and recovers when it returns to {back}{unit}."]
    lines += reason_sections(probs, rng.choice(CAUSES), rng.choice(STEPS))
    doc = "\n".join(lines) + "\n"
    p, s = rng.choice(probs)
    qa = [(f"When does {title} {verb_base}?",
           f"{title} {verb} when the {metric} reaches {at}{unit} and recovers when it returns to {back}{unit}."),
          (f"What are the possible reasons for problems with {title}?",
           f"The possible reasons for problems with {title} are that " + " or that ".join(x for x, _ in probs) + "."),
          (f"How should {title} be treated when {p}?",
           f"When {p}, {s}."),
          (f"What is the {level_label.lower()} of {title}?",
           f"{title} has a {level} {level_label.lower()}.")]
    return doc, qa


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=int, default=150)
    parser.add_argument("--tests", type=int, default=150)
    parser.add_argument("--cards", type=int, default=1250)
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
    with open(args.out / "general.jsonl", "w", encoding="utf-8") as f:
        for _ in range(args.cards):
            text, qa = make_card(rng)
            f.write(json.dumps({"document": text, "qa": qa}, ensure_ascii=False) + "\n")
    teacher_rng = random.Random(f"{args.seed}:teacher")
    with open(args.out / "teacher_qa.jsonl", "w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(teacher_pair(teacher_rng, doc), ensure_ascii=False) + "\n")
    print(f"wrote {len(docs)} documents to {corpus_dir}, {args.tests} test questions, {args.cards} general cards "
          f"and {len(docs)} teacher QA pairs")


if __name__ == "__main__":
    main()
