"""WTForms forms for the web UI; Flask-WTF adds and checks the CSRF token on each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class RegisterForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])  # format: checked by the service
    password = PasswordField("Password (10 characters or more)", validators=[DataRequired(), Length(min=10, max=1024)])
    organization_name = StringField("Organisation (optional)", validators=[Optional(), Length(max=200)])
