"""Write data/general.jsonl: everyday questions, nothing about the domain, that every evaluation also
asks closed-book, to see whether domain tuning costs general ability (Dial-insight's capability
collapse).

    python scripts/make_general_set.py --seed 0

Each record is {question, answer, keywords}: `answer` is a reference sentence (its NLL is the
general reference NLL) and `keywords` the words one of which a correct reply contains (the general
score). Written for this project from common knowledge; the arithmetic items are drawn with `--seed`.
"""

import argparse
import json
import random
from pathlib import Path

CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"),
            ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Russia", "Moscow"), ("China", "Beijing"),
            ("the United Kingdom", "London"), ("Greece", "Athens"), ("Portugal", "Lisbon"), ("Ireland", "Dublin"),
            ("Norway", "Oslo"), ("Sweden", "Stockholm"), ("Austria", "Vienna"), ("Poland", "Warsaw"),
            ("Thailand", "Bangkok"), ("Kenya", "Nairobi"), ("Argentina", "Buenos Aires"), ("Peru", "Lima"),
            ("South Korea", "Seoul"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Hungary", "Budapest"),
            ("the Netherlands", "Amsterdam"), ("Belgium", "Brussels"), ("Cuba", "Havana"), ("Chile", "Santiago"),
            ("Mexico", "Mexico City")]

FACTS = [
    ("What color is the sky on a clear day?", "The sky on a clear day is blue.", ["blue"]),
    ("What color is fresh grass?", "Fresh grass is green.", ["green"]),
    ("What color is snow?", "Snow is white.", ["white"]),
    ("How many days are in a week?", "A week has seven days.", ["seven", "7"]),
    ("How many months are in a year?", "A year has twelve months.", ["twelve", "12"]),
    ("How many hours are in a day?", "A day has 24 hours.", ["24", "twenty-four"]),
    ("How many minutes are in an hour?", "An hour has 60 minutes.", ["60", "sixty"]),
    ("How many legs does a spider have?", "A spider has eight legs.", ["eight", "8"]),
    ("How many legs does a dog have?", "A dog has four legs.", ["four", "4"]),
    ("How many continents are there?", "There are seven continents.", ["seven", "7"]),
    ("What is the largest planet in the solar system?", "Jupiter is the largest planet in the solar system.",
     ["Jupiter"]),
    ("Which planet is known as the Red Planet?", "Mars is known as the Red Planet.", ["Mars"]),
    ("What star is at the center of our solar system?", "The Sun is at the center of our solar system.", ["Sun"]),
    ("What do bees make?", "Bees make honey.", ["honey"]),
    ("What gas do plants take in from the air?", "Plants take in carbon dioxide from the air.", ["carbon dioxide"]),
    ("What is frozen water called?", "Frozen water is called ice.", ["ice"]),
    ("At what temperature in Celsius does water freeze?", "Water freezes at 0 degrees Celsius.", ["0", "zero"]),
    ("At what temperature in Celsius does water boil at sea level?", "Water boils at 100 degrees Celsius.",
     ["100"]),
    ("What is the largest ocean on Earth?", "The Pacific Ocean is the largest ocean on Earth.", ["Pacific"]),
    ("What is the tallest mountain in the world?", "Mount Everest is the tallest mountain in the world.",
     ["Everest"]),
    ("What animal is known as the king of the jungle?", "The lion is known as the king of the jungle.", ["lion"]),
    ("What is the largest mammal?", "The blue whale is the largest mammal.", ["whale"]),
    ("Which organ pumps blood through the body?", "The heart pumps blood through the body.", ["heart"]),
    ("What do we use to see?", "We use our eyes to see.", ["eye"]),
    ("What language is spoken in Brazil?", "Portuguese is spoken in Brazil.", ["Portuguese"]),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet.", ["Shakespeare"]),
    ("What is the chemical symbol for water?", "The chemical formula of water is H2O.", ["H2O"]),
    ("What is the opposite of hot?", "The opposite of hot is cold.", ["cold"]),
    ("What is the opposite of up?", "The opposite of up is down.", ["down"]),
    ("What is the opposite of day?", "The opposite of day is night.", ["night"]),
    ("What is the opposite of fast?", "The opposite of fast is slow.", ["slow"]),
    ("What is the opposite of happy?", "The opposite of happy is sad.", ["sad", "unhappy"]),
    ("What is the plural of mouse?", "The plural of mouse is mice.", ["mice"]),
    ("What is the plural of child?", "The plural of child is children.", ["children"]),
    ("What is the plural of foot?", "The plural of foot is feet.", ["feet"]),
    ("What day comes after Monday?", "Tuesday comes after Monday.", ["Tuesday"]),
    ("What day comes after Friday?", "Saturday comes after Friday.", ["Saturday"]),
    ("What month comes after January?", "February comes after January.", ["February"]),
    ("What month comes after June?", "July comes after June.", ["July"]),
    ("Which season comes after winter?", "Spring comes after winter.", ["spring"]),
]

INSTRUCTIONS = [
    ("Reply with only the word apple.", "apple", ["apple"]),
    ("Reply with only the word yes.", "yes", ["yes"]),
    ("Say hello.", "Hello!", ["hello"]),
    ("Write the word cat in capital letters.", "CAT", ["CAT"]),
    ("Count from 1 to 5, separated by commas.", "1, 2, 3, 4, 5", ["1, 2, 3, 4, 5"]),
    ("List the three primary colors of paint.", "Red, yellow and blue.", ["red"]),
    ("Name a fruit that is yellow.", "A banana is yellow.", ["banana", "lemon"]),
    ("Name an animal that can fly.", "A bird can fly.", ["bird", "eagle", "bat", "pigeon", "owl", "bee"]),
    ("Complete the sentence: The early bird catches the ...", "The early bird catches the worm.", ["worm"]),
    ("Translate the French word 'merci' into English.", "Merci means thank you.", ["thank"]),
    ("Translate the Spanish word 'hola' into English.", "Hola means hello.", ["hello"]),
    ("Write the number seven as a digit.", "7", ["7"]),
    ("At what temperature in Fahrenheit does water freeze?", "Water freezes at 32 degrees Fahrenheit.", ["32"]),
    ("What is the last letter of the English alphabet?", "The last letter is Z.", ["Z"]),
    ("Give one word that rhymes with cat.", "Hat rhymes with cat.", ["hat", "bat", "mat", "rat", "sat", "fat", "pat"]),
    ("Which is bigger, 9 or 4? Answer with the number.", "9", ["9"]),
    ("Which is smaller, 12 or 30? Answer with the number.", "12", ["12"]),
    ("Is the sun hot or cold? Answer in one word.", "Hot.", ["hot"]),
    ("Is ice hot or cold? Answer in one word.", "Cold.", ["cold"]),
    ("Spell the word dog.", "D-O-G", ["d-o-g", "d o g", "dog"]),
]


def arithmetic(rng: random.Random, n: int) -> list[dict]:
    items, i = [], 0
    while len(items) < n:
        a, b = rng.randint(2, 20), rng.randint(2, 20)
        if i % 3 == 0:
            q, result, word = f"What is {a} plus {b}?", a + b, "plus"
        elif i % 3 == 1:
            a, b = max(a, b), min(a, b)
            q, result, word = f"What is {a} minus {b}?", a - b, "minus"
        else:
            a, b = a % 10 + 1, b % 10 + 1
            q, result, word = f"What is {a} times {b}?", a * b, "times"
        if all(item["question"] != q for item in items):
            items.append({"question": q, "answer": f"{a} {word} {b} is {result}.", "keywords": [str(result)]})
            i += 1
    return items


def general_set(seed: int) -> list[dict]:
    rng = random.Random(seed)
    items = [{"question": f"What is the capital of {country}?", "answer": f"The capital of {country} is {city}.",
              "keywords": [city]} for country, city in CAPITALS]
    items += [{"question": q, "answer": a, "keywords": k} for q, a, k in FACTS + INSTRUCTIONS]
    items += arithmetic(rng, 30)
    rng.shuffle(items)
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the general-ability set.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="data/general.jsonl")
    args = parser.parse_args()
    items = general_set(args.seed)
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items), encoding="utf-8")
    print(f"{len(items)} general questions -> {args.out}")


if __name__ == "__main__":
    main()
