"""Hardship records (困难职工档案): applied for, approved one level up, reviewed, expired."""
