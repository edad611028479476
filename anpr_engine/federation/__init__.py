"""Federation: what a party releases to its partners (Benelux Police Treaty art. 13), as pure logic; io/ moves it."""
