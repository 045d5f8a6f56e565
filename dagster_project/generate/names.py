"""English first names and surnames (embedded, no downloads), with nicknames and spelling variants.

Lists are ordered roughly by frequency among older and working-age adults in England;
:func:`zipf_weights` turns the order into sampling weights.
"""
from __future__ import annotations

import numpy as np

MALE_FIRST: tuple[str, ...] = (
    "John", "David", "Michael", "Peter", "Robert", "William", "James", "Paul", "Richard", "Stephen",
    "Christopher", "Anthony", "Brian", "Alan", "Thomas", "Mark", "Andrew", "Kenneth", "Keith", "Ian",
    "Colin", "Derek", "Geoffrey", "Raymond", "Roger", "Terence", "Barry", "Graham", "Dennis", "Frank",
    "George", "Edward", "Daniel", "Matthew", "Joseph", "Samuel", "Benjamin", "Jack", "Harry", "Oliver",
    "Philip", "Malcolm", "Trevor", "Nigel", "Gary", "Stuart", "Simon", "Martin", "Kevin", "Neil",
    "Jonathan", "Nicholas", "Gordon", "Leslie", "Ronald", "Stanley", "Albert", "Arthur", "Harold", "Walter",
    "Mohammed", "Imran", "Tariq", "Adam", "Luke", "Ryan", "Liam", "Jamie", "Craig", "Lee",
)
FEMALE_FIRST: tuple[str, ...] = (
    "Margaret", "Susan", "Patricia", "Elizabeth", "Mary", "Christine", "Sarah", "Jennifer", "Linda", "Janet",
    "Barbara", "Catherine", "Ann", "Jean", "Sandra", "Carol", "Helen", "Pauline", "Valerie", "Dorothy",
    "Joan", "Brenda", "Sheila", "Irene", "Doreen", "Maureen", "Joyce", "Shirley", "Kathleen", "Eileen",
    "Julie", "Karen", "Tracey", "Nicola", "Michelle", "Emma", "Claire", "Rebecca", "Laura", "Hannah",
    "Jessica", "Sophie", "Charlotte", "Amy", "Rachel", "Lisa", "Joanne", "Deborah", "Alison", "Gillian",
    "Rosemary", "Wendy", "Judith", "Marion", "Hilda", "Edna", "Elsie", "Winifred", "Ethel", "Vera",
    "Fatima", "Ayesha", "Nadia", "Olivia", "Chloe", "Lauren", "Katie", "Gemma", "Kelly", "Victoria",
)
SURNAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
    "Patel", "Khan", "Lewis", "Harrison", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore",
    "Clark", "Turner", "Baker", "Allen", "Scott", "King", "Lee", "Edwards", "Parker", "Mitchell",
    "Bailey", "Cook", "Morris", "Bell", "Shaw", "Carter", "Richardson", "Holmes", "Marshall", "Atkinson",
    "Hussain", "Ali", "Ahmed", "Akhtar", "Begum", "Iqbal", "Mahmood", "Butt", "Shah", "Hanif",
    "Dixon", "Fletcher", "Hartley", "Sutcliffe", "Crowther", "Firth", "Haigh", "Hirst", "Lockwood", "Ramsden",
    "Barker", "Booth", "Brook", "Kaye", "Senior", "Womersley", "Armitage", "Greenwood", "Pickles", "Whiteley",
    "Thomson", "Stephenson", "Gibson", "Simpson", "Watson", "Chapman", "Ellis", "Mason", "Webb", "Rogers",
    "Mills", "Kelly", "Murphy", "Walsh", "O'Brien", "Gallagher", "Foster", "Hudson", "Jenkins", "Pearson",
    "Nowak", "Kowalski", "Lambert", "Fox", "Wilkinson", "Lawson", "Rhodes", "Spencer", "Dawson", "Hargreaves",
)
# Nicknames a council may have recorded instead of the formal name.
NICKNAMES: dict[str, str] = {
    "William": "Bill", "Robert": "Bob", "Richard": "Dick", "Margaret": "Peggy", "Elizabeth": "Liz",
    "Michael": "Mike", "James": "Jim", "Anthony": "Tony", "Thomas": "Tom", "Edward": "Ted",
    "Kenneth": "Ken", "Christopher": "Chris", "Stephen": "Steve", "Patricia": "Pat", "Jennifer": "Jenny",
    "Catherine": "Kate", "Susan": "Sue", "Dorothy": "Dot", "Kathleen": "Kath", "Barbara": "Babs",
    "Daniel": "Dan", "Matthew": "Matt", "Joseph": "Joe", "Samuel": "Sam", "Benjamin": "Ben",
    "Nicholas": "Nick", "Jonathan": "Jon", "Ronald": "Ron", "Albert": "Bert", "Harold": "Harry",
    "Raymond": "Ray", "Terence": "Terry", "Geoffrey": "Geoff", "Leslie": "Les", "Frederick": "Fred",
    "Andrew": "Andy", "Philip": "Phil", "Stanley": "Stan", "Deborah": "Debbie", "Victoria": "Vicky",
    "Rebecca": "Becky", "Valerie": "Val", "Gillian": "Gill", "Christine": "Chris", "Mary": "Molly",
    "Joanne": "Jo", "Rosemary": "Rose", "Winifred": "Winnie", "Alexander": "Alex", "Peter": "Pete",
}
# Spelling variants of both first names and surnames.
SPELLINGS: dict[str, str] = {
    "Catherine": "Katherine", "Stephen": "Steven", "Geoffrey": "Jeffrey", "Ann": "Anne", "Jean": "Jeanne",
    "Philip": "Phillip", "Alan": "Allan", "Brian": "Bryan", "Tracey": "Tracy", "Claire": "Clare",
    "Joanne": "Joann", "Marion": "Marian", "Ayesha": "Aisha", "Sheila": "Shelagh",
    "Smith": "Smyth", "Thompson": "Thomson", "Clarke": "Clark", "Davies": "Davis", "Hussain": "Hussein",
    "Mohammed": "Mohammad", "Ahmed": "Ahmad", "Robinson": "Robertson", "Wilkinson": "Wilkenson",
    "Richardson": "Richards", "Hargreaves": "Hargraves", "Stephenson": "Stevenson", "Gallagher": "Gallacher",
    "Pearson": "Pierson", "Whiteley": "Whitley", "Haigh": "Haig", "Sutcliffe": "Sutcliff", "Crowther": "Crowder",
    "Womersley": "Wormersley", "Greenwood": "Greenward", "Hartley": "Hartly", "Lockwood": "Lockwod",
}


def zipf_weights(n: int, exponent: float = 0.8) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


